# Every entry point of scratchgan.  Each target bootstraps what it needs: a .venv with the
# package installed (editable) and its test extras, the first time, or when pyproject changes.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
READY  := $(VENV)/.installed

.PHONY: test bench venv clean

$(READY): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "scratchgan needs Python 3.10 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(READY)

## make test: the whole test suite (NumPy backend; CuPy too where a GPU is present)
test: $(READY)
	$(PY) -m pytest -q

## make bench: timings (scratchgan vs plain NumPy); never part of the tests
bench: $(READY)
	$(PY) -m scratchgan.bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
