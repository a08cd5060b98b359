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
	@echo "make lint   - ruff, ruff format --check, import-linter layer contracts"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "neuroethology needs Python >= 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/neuroethology demo --out $(OUT)

# -n auto: one pytest worker per core (pytest-xdist); --dist loadfile keeps each file's tests (and their
# module-scoped fixtures, such as a trained run) in one worker.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not slow"

bench: $(STAMP)
	$(BIN)/neuroethology bench

# ruff (style, complexity), ruff format, and import-linter's layer and cycle contracts (pyproject.toml) on the
# package staged as it installs: envs/ and analysis/ become neuroethology/envs and neuroethology/analysis.
LINT_STAGE := build/lint
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check neuroethology envs analysis tests benchmarks paper_figures
	rm -rf $(LINT_STAGE) && mkdir -p $(LINT_STAGE)
	cp -r neuroethology $(LINT_STAGE)/ && cp -r envs $(LINT_STAGE)/neuroethology/envs && cp -r analysis $(LINT_STAGE)/neuroethology/analysis
	cd $(LINT_STAGE) && ../../$(BIN)/lint-imports --no-cache --config ../../pyproject.toml

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache
