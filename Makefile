# The verbs a newcomer looks for. Every target builds the virtual environment it needs
# (pinned by constraints.txt) the first time, and again when the pins change.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-unit lint format bench bench-quick bench-render bench-clv clean help

help:
	@echo "make demo   - generate sample exports, run the pipeline over them, publish, summarise"
	@echo "make test   - lint, then the whole test suite (unit and integration)"
	@echo "make test-unit - the fast tests only"
	@echo "make lint   - ruff and sqlfluff"
	@echo "make bench  - workloads XS, S, M and L: cost per stage, ratios (docs/performance.md)"
	@echo "make bench-quick - the same on XS, S and M only (about 35 minutes on 2 cores)"
	@echo "make bench-clv - the CLV stage against lifetimes on 1,000,000 customers"
	@echo "make clean  - remove data/ and the virtual environment"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "Python 3.11 is required (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[dev]"
	@touch $@

demo: $(STAMP)
	$(BIN)/loyalty demo

test: $(STAMP) lint
	$(BIN)/python -m pytest

test-unit: $(STAMP)
	$(BIN)/python -m pytest -m "not integration"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint sql --disable-progress-bar

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Generated workloads go under BENCH_DATA (outside the repository: M needs about 15 GB, L
# about 80 GB); results are written to bench/results/ and rendered into docs/performance.md.
BENCH_DATA ?= $(abspath ../loyalty-bench-data)

bench: $(STAMP)
	$(BIN)/python -m bench run --workloads XS,S,M,L --data-root $(BENCH_DATA)

bench-quick: $(STAMP)
	$(BIN)/python -m bench run --workloads XS,S,M --data-root $(BENCH_DATA)

bench-render: $(STAMP)
	$(BIN)/python -m bench render

bench-clv: $(STAMP)
	$(BIN)/python bench/clv_vs_lifetimes.py --scaling 250000,500000

clean:
	rm -rf data $(VENV)
