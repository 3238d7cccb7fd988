# The two commands of the README: `make run` and `make test`.
# Needs only Python 3.11+ (python3.11 is preferred when installed).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test bench install check clean-var

$(INSTALLED): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "LeadCRM needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing requirements into $(VENV) (first run only)..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

install: $(INSTALLED)

## make run: migrate, load the demo data if the database is empty, start web + worker.
run: $(INSTALLED)
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py seed_demo --if-empty
	@$(PY) manage.py install_schedules
	@$(PY) manage.py devserver

## make test: the whole suite (PostgreSQL and Redis when reachable; see README), then the
## browser test in a session (and a test database) of its own: it needs the rows the
## migrations seed, which the transactional tests before it would have flushed.
test: $(INSTALLED)
	@$(PY) -m pytest --ignore=tests/browser
	@$(PY) -m pytest tests/browser

## make bench: benchmarks in bench/ (PostgreSQL required); never part of `make test`.
bench: $(INSTALLED)
	@$(PY) bench/run.py

## make check: migrations in step with models, Django system checks.
check: $(INSTALLED)
	@$(PY) manage.py makemigrations --check --dry-run
	@$(PY) manage.py check

clean-var:
	rm -rf var
