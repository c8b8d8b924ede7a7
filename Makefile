# Two commands do all set-up on a fresh machine (Python 3.11 and the package registries):
#   make run    the main job      make test   the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM := $(VENV)/.chromium

.PHONY: run test lint bench lock clean

# requirements.lock pins every package to the versions last tested (`make lock` rewrites it).
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# Debian packages the tests need: Chromium for the browser tests (Playwright never downloads
# one) and a Java runtime for the Spark parity tests.
$(CHROMIUM): $(STAMP)
	command -v chromium >/dev/null && command -v java >/dev/null || (apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium default-jre-headless)
	touch $(CHROMIUM)

run: $(STAMP)
	$(BIN)/marginscope demo

test: $(STAMP) $(CHROMIUM)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/liquidation_engine.py

lock: $(STAMP)
	{ sed -n '1,3p' requirements.lock; $(BIN)/pip freeze --exclude-editable | grep -v '^marginscope'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
