# The two commands a newcomer needs: `make demo` and `make test`. Both work offline
# (apart from PyPI/Debian packages): the demo crawls the bundled sample of fda.gov.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FDATRACK := $(VENV)/bin/fdatrack
DB ?= db/fda_letters.db
PORT ?= 8001

.PHONY: install demo crawl-demo test lint browser bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

crawl-demo: install
	$(FDATRACK) crawl --mirror --db $(DB)

demo: crawl-demo
	$(FDATRACK) serve --db $(DB) --port $(PORT)

# Debian's chromium for the browser tests (CI runs as root on a fresh machine).
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# Two workers (the machines have 2 cores); a module's tests stay on one worker so its
# shared crawl fixture runs once.
test: install browser lint
	$(PY) -m pytest -n 2 --dist loadfile

# Lint and format check (configuration in pyproject.toml); `ruff format .` fixes the format.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache test-output
