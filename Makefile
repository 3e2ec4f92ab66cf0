# The two commands of the README. Both set everything up on a fresh machine first.
.PHONY: run test lint bench eval

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
