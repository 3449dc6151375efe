# IBV-Portal — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := portal:create_app

.PHONY: run test install system-packages runtime-packages translations migrate demo bench messages clean check-python

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 oder neuer wird benötigt (gefunden: %s)" % sys.version.split()[0])'

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Debian packages outside Python (Chromium, Pango/HarfBuzz for PDFs, pdftotext, wrk).
system-packages:
	@bash tools/system-packages.sh

runtime-packages:
	@bash tools/system-packages.sh run

# Compile every domain's English catalogue (German is the source language).
translations: install
	$(BIN)/python tools/i18n.py compile

# Extract new strings into the catalogues: make messages [DOMAIN=accounts]
messages: install
	$(BIN)/python tools/i18n.py update $(DOMAIN)
	-$(BIN)/python tools/i18n.py check

migrate: translations
	$(BIN)/flask db upgrade

demo: runtime-packages migrate
	$(BIN)/flask demo load --if-empty

run: demo
	@echo "IBV-Portal läuft auf http://127.0.0.1:$(PORT) (Demo-Zugänge: siehe README.md)"
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

test: system-packages translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks (never part of `make test`): pages under gunicorn with wrk (tools/system-packages.sh
# installs it when missing), deadline burst, audit log; writes BENCHMARKS.md.
# make bench BENCH_ARGS="--size full-pages" for the pages on the issue's full scale data, "--size full" for every full size; BENCH_ARGS="pages --seconds 30" for one.
bench: system-packages translations
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
	find portal -name '*.mo' -delete
