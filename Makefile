# Quick start: `make run` (set up, ingest the sample corpus into ./data, show coded events and events per month by QuadClass) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: setup run test lint bench bench-ingest bench-backfill bench-warehouse model clean

setup: $(STAMP)

# Pinned installs: requirements.lock constrains every package, so a fresh machine gets the same set.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

run: setup
	$(BIN)/eventlake run --example

test: setup
	$(BIN)/python -m pytest

# ruff (configured in pyproject.toml): pyflakes, pycodestyle, bugbear, annotations on public functions,
# and the formatting that `ruff format` writes; then mypy's type check of transforms, warehouse and flows.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Backfill against its floor (trafilatura + the spaCy model's nlp.pipe alone, one process) on the
# same 540 real-size pages: wall time, records/s, their ratio, peak memory of the process tree,
# CPU seconds by process and by stage. About 8 minutes on 2 cores.
bench: setup
	$(BIN)/python tests/bench_floor.py

# The extraction stages in one process, then `eventlake run` on 1k and 10k generated articles.
bench-ingest: setup
	$(BIN)/python tests/benchmark.py

# `eventlake backfill` of a 10,000-record CC-NEWS-shaped WARC: records/s and memory over the run.
bench-backfill: setup
	$(BIN)/python tests/bench_backfill.py

# The event confidence model (config/models/confidence.json) from the labelled articles in
# config/training/events/; prints its cross-validated figures. About two minutes.
model: setup
	$(BIN)/python config/train_confidence.py

# Warehouse loads: 200-article batches into one month until 100,000 articles; load time per batch
# in the first and last tenth, files before and after compaction, peak RSS.
bench-warehouse: setup
	$(BIN)/python tests/bench_warehouse.py --articles 100000 --json

clean:
	rm -rf $(VENV) data
