# Two commands do all set-up on a fresh machine (Python 3.11+, Node/npm):
#   make run    serve the demo on http://127.0.0.1:5000
#   make test   lint, type-check, and the tests on SQLite and PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
STAMPS := .make
VENDOR := portal/static/vendor
GOVUK := node_modules/govuk-frontend/dist/govuk

.PHONY: run test lint typecheck test-sqlite test-postgres test-both assets install browser office redis pdf-libraries clean bench loadtest


run: install assets pdf-libraries
	$(FLASK) seed-demo  # migrates the database first
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install assets browser office redis pdf-libraries lint typecheck test-both

install: $(STAMPS)/venv

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,prod]'
	@touch $@

assets: $(VENDOR)/portal.css $(VENDOR)/govuk/govuk-frontend.min.js

$(STAMPS)/node: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENDOR)/portal.css: assets/portal.scss $(STAMPS)/node
	@mkdir -p $(VENDOR)
	npx --no-install sass --no-source-map --style=compressed --quiet-deps --load-path=node_modules assets/portal.scss $@

# GOV.UK Frontend's JavaScript and images; not its fonts (GDS Transport is for GOV.UK only).
$(VENDOR)/govuk/govuk-frontend.min.js: $(STAMPS)/node
	@mkdir -p $(VENDOR)/govuk/assets
	cp $(GOVUK)/govuk-frontend.min.js $(VENDOR)/govuk/
	cp -r $(GOVUK)/assets/images $(VENDOR)/govuk/assets/
	@touch $@

# Browser tests drive Debian's Chromium (Playwright cannot download browsers
# here). Installed when missing and we may; otherwise the tests say why they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "!!! chromium missing and not root: install it (apt-get install chromium) or browser tests skip"; fi; }

# A real Redis on loopback proves rate limits hold across workers (tests/test_rate_limits.py).
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; \
	  else echo "!!! redis-server missing and not root: install it (apt-get install redis-server) or the shared rate-limit test skips"; fi; }

# WeasyPrint (printable reports) draws text with Pango and HarfBuzz from the
# system, in DejaVu fonts; poppler's pdftoppm draws README's page pictures.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils
pdf-libraries:
	@{ ldconfig -p | grep -q libpangoft2-1.0 && ldconfig -p | grep -q libharfbuzz-subset \
	   && fc-list | grep -qi dejavu && command -v pdftoppm >/dev/null; } || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PDF_PACKAGES) >/dev/null; \
	  else echo "!!! Pango missing and not root: apt-get install $(PDF_PACKAGES), or PDF reports fail"; fi; }

# LibreOffice opens every workbook we write, headless (tests marked office).
office:
	@command -v soffice >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null; \
	  else echo "!!! soffice missing and not root: install it (apt-get install libreoffice-calc-nogui) or office tests skip"; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# Security lint: a medium or high finding fails unless justified inline (# nosec Bnnn, the reason on the line above).
	$(BIN)/bandit --quiet --recursive portal --severity-level medium
	# Layer rules and no import circles (pyproject.toml [tool.importlinter]).
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

test-sqlite: install assets
	$(BIN)/pytest

# Tests marked slow or office write workbooks and touch no database: once is enough.
test-postgres: install assets
	scripts/with-postgres.sh $(BIN)/pytest -m "not slow and not office"

# Both suites at once, one a core (they share nothing: each has its own
# database, temporary folders and free ports), so `make test` takes the
# longer of the two rather than their sum. The PostgreSQL run's output
# follows the SQLite run's; either failing fails the target.
POSTGRES_LOG := $(STAMPS)/test-postgres.log
test-both: install assets
	@mkdir -p $(STAMPS)
	@$(MAKE) --no-print-directory test-postgres > $(POSTGRES_LOG) 2>&1 & postgres=$$!; \
	$(MAKE) --no-print-directory test-sqlite; sqlite=$$?; \
	wait $$postgres; status=$$?; \
	echo "--- PostgreSQL suite (make test-postgres) ---"; cat $(POSTGRES_LOG); \
	exit $$(( sqlite != 0 || status != 0 ))

clean:
	rm -rf $(VENV) node_modules $(VENDOR) $(STAMPS)

# Speed figures as ratios to a floor measured in the same run (not a test:
# nothing fails on a time). QUICK=1 for a small run. With the PostgreSQL
# binaries present, autosave over HTTP is measured on PostgreSQL too.
bench: install assets
	scripts/with-postgres.sh $(BIN)/python -m bench.run $(if $(QUICK),--quick) $(foreach group,$(ONLY),--only $(group))

# 50 suppliers against gunicorn on SQLite, then PostgreSQL, with a crash pass, then two
# hosts on one PostgreSQL and Redis (bench/twohosts.py);
# exits non-zero when a check fails. SECONDS=60 by default; QUICK=1 for 15 s.
loadtest: install assets redis
	scripts/with-postgres.sh $(BIN)/python -m bench.loadtest $(if $(QUICK),--quick,--seconds $(or $(SECONDS),60))
