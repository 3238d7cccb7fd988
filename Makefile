# The two commands of the README: `make run` and `make test` (docs/testing.md for the rest).
# Needs only Python 3.11+ (python3.11 is preferred when installed).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# What production runs (requirements.txt); what tests, checks and benchmarks add (requirements-dev.txt).
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev
# pytest-xdist workers for the suite: each has a test database and a Redis db of its own.
# worksteal: an idle worker takes tests queued on the other (a few tests take seconds).
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist worksteal

.PHONY: run cluster test test-fast bench lighthouse install install-dev check lock clean-var migrate-as-owner backup-verify

$(INSTALLED): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "LeadCRM needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing requirements.txt into $(VENV) (first run only)..."
	@$(PIP) -r requirements.txt
	@touch $@

$(INSTALLED_DEV): $(INSTALLED) requirements-dev.txt
	@echo "Installing requirements-dev.txt into $(VENV) (first test run only)..."
	@$(PIP) -r requirements.txt -r requirements-dev.txt
	@touch $@

install: $(INSTALLED)
install-dev: $(INSTALLED_DEV)

## make run: migrate, load the demo data if the database is empty, start web + worker.
run: $(INSTALLED)
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py seed_demo --if-empty
	@$(PY) manage.py install_schedules
	@$(PY) manage.py devserver

## make cluster: two gunicorn webs, two Celery workers and one beat, each a process of its own,
## on PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL required); Ctrl-C stops them all.
## ARGS for more (make cluster ARGS="--web 3 --port 9001"); docs/operations.md.
cluster: $(INSTALLED)
	@$(PY) manage.py cluster $(ARGS)

## make test: the import contract (.importlinter), then the whole suite on $(TEST_WORKERS)
## workers (PostgreSQL and Redis when reachable; see README), then the browser test in a
## session (and a test database) of its own: it needs the rows the migrations seed, which
## the transactional tests before it would have flushed.
test: $(INSTALLED_DEV)
	@$(VENV)/bin/lint-imports
	@$(PY) -m pytest $(XDIST) --ignore=tests/browser
	@$(PY) -m pytest tests/browser

## make test-fast: the loop while you work: everything but the tests marked slow (workers,
## subprocesses) and the browser, the test databases kept between runs (docs/testing.md).
test-fast: $(INSTALLED_DEV)
	@$(PY) -m pytest $(XDIST) -m "not slow" --ignore=tests/browser --reuse-db $(ARGS)

## make bench: benchmarks in bench/ (PostgreSQL required); never part of `make test`.
bench: $(INSTALLED_DEV)
	@$(PY) bench/run.py

## make lighthouse: Lighthouse's accessibility and performance on the dashboard, a lead, the queue
## and the seller page under production settings (gunicorn, compressed static), the median of
## three runs against the targets (bench/README.md#lighthouse); never part of `make test`.
LIGHTHOUSE_NODE := bench/lighthouse/node_modules/.package-lock.json
$(LIGHTHOUSE_NODE): bench/lighthouse/package-lock.json
	@npm ci --prefix bench/lighthouse --ignore-scripts --no-audit --no-fund --loglevel=error

lighthouse: $(INSTALLED) $(LIGHTHOUSE_NODE)
	@$(PY) bench/lighthouse.py $(ARGS)

## make check: migrations in step with models, Django system checks.
check: $(INSTALLED_DEV)
	@$(PY) manage.py makemigrations --check --dry-run
	@$(PY) manage.py check

## make migrate-as-owner: migrations as the tables' owner (DATABASE_MIGRATE_URL), then the
## app's own role (DATABASE_URL) given row access and nothing more (docs/database.md#roles).
migrate-as-owner: $(INSTALLED)
	@LEADCRM_DB_AS_OWNER=true $(PY) manage.py migrate --noinput
	@LEADCRM_DB_AS_OWNER=true $(PY) manage.py db_runtime_role
	@$(PY) manage.py db_role_check

## make backup-verify: dump the database, restore it into a scratch database, compare
## every table's rows, the triggers and the functions, drop it (docs/database.md#backups);
## as the owner when DATABASE_MIGRATE_URL is set (the app's role may not create databases).
backup-verify: $(INSTALLED)
	@$(if $(DATABASE_MIGRATE_URL),LEADCRM_DB_AS_OWNER=true) $(PY) manage.py backup_verify $(if $(KEEP),--keep $(KEEP))

## make lock: compile requirements*.txt from requirements*.in (pip-tools, in a venv of its own);
## pins kept unless asked: make lock LOCK_ARGS=--upgrade (or --upgrade-package NAME).
LOCK_VENV := var/lock-venv
lock:
	@test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && \
		$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check pip-tools; }
	@CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url \
		--no-emit-find-links $(LOCK_ARGS) requirements.in
	@CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url \
		--no-emit-find-links $(LOCK_ARGS) requirements-dev.in

clean-var:
	rm -rf var
