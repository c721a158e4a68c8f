# make setup - create .venv, install, compile the kernels once (`backtestr warmup`; cached after)
# make demo  - set up .venv, write the sample archive (data/sample, generated on first use) and run the sample job on it
# make test  - set up .venv and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/backtestr warmup

demo: setup
	$(BIN)/backtestr demo --data data/sample --out out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf out build *.egg-info .pytest_cache .ruff_cache
	find kernels backtestr -name '*.nbi' -delete -o -name '*.nbc' -delete
