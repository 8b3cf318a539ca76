# kmemlab: `make lab` starts the lab, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP_LAB  := $(VENV)/.installed-lab
STAMP_TEST := $(VENV)/.installed-test
NOTEBOOKS  := $(wildcard notebooks/[0-9]*.ipynb)
NBVAL      := $(PY) -m pytest -q -p no:cacheprovider --nbval --nbval-current-env \
              --nbval-sanitize-with notebooks/nbval_sanitize.cfg

.PHONY: lab test e2e nbval notebooks-refresh bench lint fuzz clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null

$(STAMP_LAB): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[lab]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[test]'
	touch $@ $(STAMP_LAB)

# Trusted notebooks show their saved widgets before a kernel runs; root (containers,
# JupyterHub images) needs --allow-root or Jupyter refuses to start.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP_LAB)
	$(VENV)/bin/jupyter trust notebooks/*.ipynb >/dev/null
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ALLOW_ROOT) $(LAB_ARGS)

test: $(STAMP_TEST)
	$(VENV)/bin/ruff check kmemlab tests
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	$(NBVAL) $(NOTEBOOKS)

nbval: $(STAMP_TEST)
	$(NBVAL) $(NOTEBOOKS)

# Re-run the chapters and store their outputs (after changing what the simulator prints).
notebooks-refresh: $(STAMP_LAB)
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace $(NOTEBOOKS)

e2e: $(STAMP_TEST)
	$(PY) -m pytest -q -p no:cacheprovider tests/e2e $(PYTEST_ARGS)

bench: $(STAMP_TEST)
	$(PY) -m pytest -q tests/benchmarks --benchmark-only --benchmark-columns=ops,mean,rounds

# The API fuzzer's long run (issue 15; a short one is part of `make test`).
FUZZ_OPS ?= 100000
fuzz: $(STAMP_TEST)
	$(PY) tests/fuzz/apifuzz.py --ops $(FUZZ_OPS) --jobs 2 $(FUZZ_ARGS)

lint: $(STAMP_TEST)
	$(VENV)/bin/ruff check kmemlab tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
