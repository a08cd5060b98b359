# Two commands do everything: `make demo` and `make test`. Each creates .venv and installs the package
# (editable, with the dev tools) the first time, and again only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/demo

.PHONY: demo test test-fast bench lint clean help

help:
	@echo "make demo   - set up .venv if needed, then run 'neuroethology demo --out $(OUT)'"
	@echo "make test   - set up .venv if needed, then run the whole test suite"
	@echo "make bench  - environment throughput table"
	@echo "make lint   - ruff"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "neuroethology needs Python >= 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/neuroethology demo --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)
	$(BIN)/neuroethology bench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache
