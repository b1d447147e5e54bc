# The two commands: `make demo` and `make test`. Everything they need is installed here.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean postgres

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tohyo demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The board's tests start their own PostgreSQL (initdb/pg_ctl on a temporary directory,
# loopback only, stopped at the end); install the server binaries if they are missing.
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

test: $(STAMP) lint postgres
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/tohyo bench core

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
