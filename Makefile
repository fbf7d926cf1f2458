# safehaven: two commands for a fresh machine, `make demo` and `make test`.
# Both set everything up first (a local .venv and the MicroPython VM from npm) and are idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
VMSTAMP := node_modules/.installed

.PHONY: setup demo test check typecheck vectors bench clean help

help:
	@echo "make demo      set up, then run the virtual habitat demo (3 zones, 9 nodes)"
	@echo "make test      set up, then run the whole suite (type-check + pytest); CI runs this"
	@echo "make check     the fast tier (< 2 min): type-check, unit, protocol and driver tests"
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

# The fast tier: no firmware runs on the virtual bench, no end-to-end CLI runs, nothing marked slow.
CHECK_TESTS := $(wildcard tests/test_protocol_*.py tests/test_bmp280_*.py tests/test_scd4x_driver.py \
	tests/test_emu_*.py tests/test_detector.py tests/test_boards.py tests/test_clock.py tests/test_vm_runner.py \
	tests/test_mpy_cross.py tests/test_voting*.py tests/test_engine.py tests/test_engine_wire.py \
	tests/test_shelter.py tests/test_store.py tests/test_ingest.py tests/test_inputs.py tests/test_physics.py \
	tests/test_ground_physics.py tests/test_scenario.py tests/test_report.py tests/test_gauge.py \
	tests/test_relay.py tests/test_structure.py)

check: setup typecheck
	$(PY) -m pytest -n 2 -q -m "not slow" $(CHECK_TESTS)

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
