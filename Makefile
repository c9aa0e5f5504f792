# The README's two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint unit integration e2e messages bench bench-rules bench-report bench-metrics bench-months clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/slakeeper serve

# Two worker processes (pytest-xdist), a test file at a time each: every worker has its own
# PostgreSQL database and temporary directory, so they share nothing but the machine.
WORKERS ?= 2

test: lint
	$(BIN)/pytest --numprocesses=$(WORKERS) --dist=loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/pytest --numprocesses=$(WORKERS) --dist=loadfile tests/integration $(PYTEST_ARGS)

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.ingest $(BENCH_ARGS)

bench-rules: $(STAMP)
	$(BIN)/python -m benchmarks.classify

bench-report: $(STAMP)
	$(BIN)/python -m benchmarks.availability_arithmetic
	$(BIN)/python -m benchmarks.report

bench-metrics: $(STAMP)
	$(BIN)/python -m benchmarks.metrics_scrape

bench-months: $(STAMP)
	$(BIN)/python -m benchmarks.months

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache

# The message catalogues (the console's pages, on-call's messages, the compliance report):
# extract, merge into each .po.
messages: $(STAMP)
	$(BIN)/pybabel extract -F console/babel.cfg -k N_ -o console/locales/console.pot console
	$(BIN)/pybabel update -i console/locales/console.pot -d console/locales -D console --no-fuzzy-matching
	$(BIN)/pybabel extract -F oncall/babel.cfg -k N_ -o oncall/locales/messages.pot oncall
	@test -f oncall/locales/zh_CN/LC_MESSAGES/messages.po || \
	  $(BIN)/pybabel init -i oncall/locales/messages.pot -d oncall/locales -D messages -l zh_CN
	$(BIN)/pybabel update -i oncall/locales/messages.pot -d oncall/locales -D messages --no-fuzzy-matching --ignore-obsolete
	@mkdir -p build
	$(BIN)/pybabel extract -F availability/babel.cfg -k N_ -k NP_:1c,2 -o build/report.pot availability
	$(BIN)/pybabel update -i build/report.pot -d availability/locales -D report --no-fuzzy-matching --ignore-obsolete

# The console's screenshots in docs/screenshots/ (demo data, Chromium; Chinese needs a CJK font).
screenshots: $(STAMP)
	$(BIN)/python tools/screenshots.py
