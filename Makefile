# safehaven: two commands for a fresh machine, `make demo` and `make test`.
# Both set everything up first (a local .venv and the MicroPython VM from npm) and are idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
VMSTAMP := node_modules/.installed

.PHONY: setup demo test typecheck vectors bench clean help

help:
	@echo "make demo      set up, then run the virtual habitat demo (3 zones, 9 nodes)"
	@echo "make test      set up, then run the whole suite (type-check + pytest)"
	@echo "make vectors   regenerate protocol/vectors/ with the MicroPython encoder"
	@echo "make bench     run the benchmarks under bench/"

setup: $(STAMP) $(VMSTAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $@

$(VMSTAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

typecheck: setup
	$(PY) -m tools.typecheck

test: setup typecheck
	$(PY) -m pytest -n 2 -q

vectors: setup
	$(PY) -m tools.make_vectors

demo: setup
	$(VENV)/bin/safehaven demo

bench: setup
	$(PY) bench/decode.py
	$(PY) bench/drivers.py
	$(PY) bench/detection.py
	$(PY) bench/ground.py
	$(PY) bench/crash.py

clean:
	rm -rf $(VENV) node_modules build .pytest_cache
