# The two commands: `make demo` and `make test`. Everything they need is installed here.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lint bench clean postgres chromium jstest services pcsc messages

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

# The browser tests drive Debian's Chromium with Playwright (never a downloaded browser);
# a Japanese font makes their screenshots readable.
chromium:
	@(test -x /usr/bin/chromium && test -d /usr/share/fonts/opentype/ipafont-gothic) \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium fonts-ipafont-gothic >/dev/null)

# The deployment tests run several `tohyo serve` processes behind a real nginx, with the
# rate limits in a real Redis; each test starts its own on loopback and stops it. RUNLEVEL=1
# keeps Debian's packages from starting their system-wide services on installation.
services:
	@(command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx) && command -v redis-server >/dev/null 2>&1 \
	  || (apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      nginx-light redis-server >/dev/null)

# The card tests talk to a real pcscd (Debian's; the tests start their own, in their own
# namespace, with vsmartcard's virtual reader vpcd) through pyscard, the `card` extra, which
# builds against libpcsclite with swig. RUNLEVEL=1 keeps Debian's pcscd service from starting.
pcsc: $(STAMP)
	@((command -v pcscd >/dev/null 2>&1 || test -x /usr/sbin/pcscd) \
	  && test -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so \
	  && command -v swig >/dev/null 2>&1 && test -e /usr/include/PCSC/winscard.h) \
	  || (apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      pcscd vsmartcard-vpcd swig libpcsclite-dev >/dev/null)
	@$(BIN)/python -c 'import smartcard.scard' 2>/dev/null || $(BIN)/pip install --quiet -e '.[card]'

# axe-core (accessibility audits in the browser tests) comes from the npm registry.
node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

# The JavaScript crypto against the shared vectors, with Node's own test runner.
jstest: node_modules/.installed
	node --test tests/js/

test: $(STAMP) pcsc lint postgres chromium services jstest
	$(BIN)/python -m pytest

# The inner loop: lint, then the unit and property tests on the small test group (no
# database server, browser or Node); under two minutes. `make test` is the whole suite.
check: $(STAMP) lint
	$(BIN)/python -m pytest tests/unit tests/property -m "not standard" -p no:cacheprovider

# After adding or changing a text in web/translations/messages.pot: bring every language's
# catalog up to date (new texts untranslated, removed ones dropped; docs/translating.md).
messages: $(STAMP)
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -w 0 \
		-i web/translations/messages.pot -d web/translations

bench: $(STAMP)
	$(BIN)/tohyo bench core

# electionguard-python 1.4 for `tohyo bench --compare electionguard`, in its own venv: it
# needs Python 3.10 (on 3.11 its dataclasses with unhashable defaults fail to import).
# Uses a Python 3.10 already on the machine (EG_PYTHON, python3.10 on PATH, pyenv's
# versions); only PyPI packages are downloaded.
.PHONY: bench-eg
bench-eg:
	@py="$${EG_PYTHON:-}"; \
	for c in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 \
	         /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	  [ -n "$$py" ] && break; \
	  "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && py="$$c"; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "bench-eg: electionguard 1.4 needs Python 3.10, and none was found (tried" \
	    "python3.10, ~/.pyenv/versions/3.10*, /usr/local/bin, /usr/bin; Debian bookworm has" \
	    "only 3.11). Set EG_PYTHON=/path/to/python3.10." >&2; \
	  exit 1; \
	fi; \
	echo "bench-eg: electionguard 1.4 in .venv-eg with $$py"; \
	"$$py" -m venv .venv-eg && echo '*' > .venv-eg/.gitignore \
	  && .venv-eg/bin/pip install --quiet --upgrade pip \
	  && .venv-eg/bin/pip install --quiet 'electionguard==1.4.0' hypothesis \
	  && .venv-eg/bin/python -c 'import electionguard, electionguard_tools' \
	  && echo "bench-eg: ready for: tohyo bench --compare electionguard"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info node_modules
