# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
VENV ?= .venv
PY := $(VENV)/bin/python
TEST_WORKERS ?= 2
SYSTEM_PACKAGES := chromium poppler-utils fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0

.PHONY: test-sqlite-engine run test install system-deps lint bench

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

# Debian packages for browser tests and PDF rendering; installed when we are root and they are
# missing (CI and fresh machines), otherwise the browser tests say why they are skipped.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES); \
	  else echo "note: install $(SYSTEM_PACKAGES) for the browser and PDF tests"; fi; \
	fi

run: install
	$(PY) manage.py audit_signing_key --create-if-missing --quiet
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py setup_report_schedules
	bash bin/run

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=. $(VENV)/bin/lint-imports --no-cache

test: install system-deps lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

# CI runs the whole suite on PostgreSQL (the production database) and, on SQLite (what `make run`
# uses), the tests whose outcome depends on the database engine: the production server and its
# scale-out, the registry's writes and custody, the audit chain's locking and verification, the
# promotion race, and the demo `make run` seeds.
SQLITE_ENGINE_TESTS = tests/deploy tests/registry tests/audit tests/ops \
	tests/governance/test_promotion_race.py tests/governance/test_demo_models.py
test-sqlite-engine: install system-deps
	env -u DATABASE_URL $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(SQLITE_ENGINE_TESTS)

bench: install
	$(PY) manage.py audit_signing_key --create-if-missing --quiet
	for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done
