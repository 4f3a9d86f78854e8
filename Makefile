# segmentd: `make run` serves the demo on 127.0.0.1:8000, `make test` runs the whole suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The 30 slowest tests are listed at the end of a run (where the suite's time goes).
PYTEST_ARGS ?= --durations=30
# Test processes (pytest-xdist); PYTEST_ARGS="-n 0" runs the suite in one process.
TEST_WORKERS ?= 2
BENCH_ARGS ?=

.PHONY: venv run test lint format bench bench-scale docs clean

venv: $(STAMP)

# Reinstall only when the dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: venv
	$(BIN)/segmentd serve --demo --host $(HOST) --port $(PORT)

test: venv
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmarks may need more packages: a `bench` extra in pyproject.toml, installed here only.
bench: venv
	@if grep -q '^bench = ' pyproject.toml; then \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'; fi
	@if [ -f bench/__main__.py ]; then $(BIN)/python -m bench $(BENCH_ARGS); \
	else echo "no benchmarks yet (bench/__main__.py)"; fi

# The analytics back-end at scale (docs/performance.md): two local ClickHouse shards, or
# SCALE_ARGS="--engine chdb"; e.g. SCALE_ARGS="--members 10000000 --events 100000000 --keep".
bench-scale: venv
	$(BIN)/python -m bench.cluster_scale $(SCALE_ARGS)

# Regenerate docs/configuration.md and the generated tables of docs/conditions.md.
docs: venv
	$(BIN)/python -m segmentd.docgen

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache \
		.hypothesis test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
