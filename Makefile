# govflow: the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PO := $(wildcard platform/govflow/locale/*/LC_MESSAGES/django.po)
MO := $(PO:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test lint pytest install messages makemessages bench worker clean-demo

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# Translation catalogs are compiled with Babel (pure Python), so no gettext tools are needed to run.
messages: install $(MO)

%.mo: %.po
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

makemessages: install
	cd platform/govflow && ../../$(BIN)/django-admin makemessages -l en --ignore 'static/*' --no-obsolete \
	  --settings=govflow.settings.dev --pythonpath=..
	$(MANAGE) translations_fill

demo: messages
	@mkdir -p var
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo
	@echo "govflow is serving http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(MANAGE) runserver $(HOST):$(PORT)

worker: messages
	$(MANAGE) run_worker

lint: install
	$(BIN)/ruff check platform tests bench reliability
	$(BIN)/ruff format --check platform tests bench reliability
	$(BIN)/mypy $(shell ls platform/govflow/*/services.py platform/govflow/*/selectors.py platform/govflow/workflows/compiler.py platform/govflow/workflows/nodes.py platform/govflow/workflows/definitions.py platform/govflow/expressions.py 2>/dev/null)

pytest: messages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint pytest

# Benchmarks run on their own database: BENCH_DATABASE_URL (PostgreSQL recommended), else var/bench.sqlite3.
bench: messages
	DJANGO_SETTINGS_MODULE=govflow.settings.bench $(BIN)/python -m bench $(BENCH_ARGS)

clean-demo:
	rm -rf var
