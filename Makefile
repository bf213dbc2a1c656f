# capplan: `make demo` sets up and runs the bundled example; `make test` runs the suite;
# `make check` runs lint, format check, strict typing, the tests and the docs build;
# `make docs` builds the documentation site into site/.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_PLAN ?= examples/the_bot.yaml

.PHONY: demo test check lint typecheck docs bench bench-forecast fuzz format clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/capplan plan $(DEMO_PLAN) --months 12

# promtool and Chromium, installed with apt when missing (scripts/system-deps.sh says how
# when it cannot install them itself).
system-deps:
	bash scripts/system-deps.sh

test: $(STAMP) system-deps
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# The documentation site (MkDocs Material) into site/; --strict fails on any warning, a broken
# link or anchor included.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

check: lint typecheck test docs

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -p no:cacheprovider -q --hypothesis-show-statistics

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_plan.py

bench-forecast: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_forecast.py

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .mypy_cache .ruff_cache .pytest_cache
