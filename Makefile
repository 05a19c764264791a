# trygghetskarta — the two commands are `make maps` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: maps test install lint format bench clean help

help:
	@echo "make maps   - install if needed, then run the nightly pipeline into data/processed/"
	@echo "make test   - install if needed, then ruff, pytest and the notebooks"
	@echo "make lint   - ruff check, format check and the import contracts (lint-imports)"
	@echo "make bench  - speed and accuracy benchmarks, printed as ratios"
	@echo "make clean  - remove generated outputs (data/processed) and caches"

# The virtual environment is created on first use and refreshed when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

maps: $(STAMP)
	$(VENV)/bin/trygghetskarta run

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

test: lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	find data/processed -mindepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
