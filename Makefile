# The README's two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := run.py

.PHONY: run test setup venv babel bench clean translations worker beat browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

venv: $(VENV)/.installed translations

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -f -d translations -D messages >/dev/null

setup: venv
	$(BIN)/flask portal setup

run: setup
	$(BIN)/gunicorn -w 2 -b 127.0.0.1:8080 --access-logfile - run:app

# Scale-out (docs/production.md): with CELERY_BROKER_URL set, jobs run on Celery instead of
# in the web processes; e.g. CELERY_BROKER_URL=redis://127.0.0.1:6379/0 make worker
worker: venv
	$(BIN)/celery -A app.celery_app worker -l info

beat: venv
	$(BIN)/celery -A app.celery_app beat -l info

# The browser suite (tests/browser) drives Debian's Chromium through Playwright, in Chinese
# (chromium-l10n: the browser's own date pickers and dialogs speak the user's language, as on a
# Chinese desktop); installed here when missing and we may (root), else the one command to run
# is printed and the tests fail.
BROWSER_PACKAGES := chromium chromium-l10n fonts-wqy-microhei
browser:
	@{ command -v chromium && test -f /usr/lib/chromium/locales/zh-CN.pak; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	  else echo "Chromium is missing: sudo apt-get install $(BROWSER_PACKAGES)"; exit 1; fi; }

test: venv browser
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

babel: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations -D messages --no-fuzzy-matching

bench: venv
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) instance
