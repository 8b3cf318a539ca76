# kmemlab: `make lab` starts the lab, `make test` runs every test.
# Two environments: the student's lab (.venv: kmemlab[lab], nothing of nbgrader's) and the
# tests' own (.venv-test: kmemlab[test] = lab + hub + instructor tools + test runners), so
# running the tests never changes what a student's lab shows.
PYTHON ?= python3
VENV   ?= .venv
TEST_VENV ?= .venv-test
PY     := $(VENV)/bin/python
TPY    := $(TEST_VENV)/bin/python
STAMP_LAB  := $(VENV)/.installed-lab
STAMP_TEST := $(TEST_VENV)/.installed-test
NOTEBOOKS  := $(wildcard notebooks/[0-9]*.ipynb)
NOTEBOOKS_ZH := $(wildcard notebooks/zh/[0-9]*.ipynb)
NBVAL      := $(TPY) -m pytest -q -p no:cacheprovider --nbval --nbval-current-env \
              --nbval-sanitize-with notebooks/nbval_sanitize.cfg
# Extra arguments for `jupyter lab` in `make lab`, e.g.
#   make lab LAB_ARGS="--no-browser --port=8890"
LAB_ARGS ?=

.PHONY: lab test e2e e2e-bench nbval notebooks-refresh notebooks-zh bench lint fuzz clean binder-link

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null

$(TPY):
	$(PYTHON) -m venv $(TEST_VENV)
	$(TPY) -m pip install --upgrade pip >/dev/null

# kmemlab.labconfig: JupyterLab's "get notified about Jupyter news?" pop-up off for this
# environment (an overrides.json in the venv, the user's own settings untouched) and the
# server extension kmemlab.lab_server on (kernel messages sent without Nagle's 40 ms wait);
# `make lab` runs it again each time, so a venv made before either existed gets both
$(STAMP_LAB): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[lab]'
	$(PY) -m kmemlab.labconfig
	touch $@

$(STAMP_TEST): pyproject.toml | $(TPY)
	$(TPY) -m pip install -e '.[test]'
	$(TPY) -m kmemlab.labconfig
	touch $@

# Trusted notebooks show their saved widgets before a kernel runs; root (containers,
# JupyterHub images) needs --allow-root or Jupyter refuses to start.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP_LAB)
	$(PY) -m kmemlab.labconfig >/dev/null
	$(VENV)/bin/jupyter trust notebooks/*.ipynb notebooks/zh/*.ipynb >/dev/null
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ALLOW_ROOT) $(LAB_ARGS)

test: $(STAMP_TEST)
	$(TEST_VENV)/bin/ruff check kmemlab tests deploy
	$(TPY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	$(NBVAL) $(NOTEBOOKS) $(NOTEBOOKS_ZH)

nbval: $(STAMP_TEST)
	$(NBVAL) $(NOTEBOOKS) $(NOTEBOOKS_ZH)

# Re-run the chapters and store their outputs (after changing what the simulator prints).
notebooks-refresh: $(STAMP_LAB)
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace $(NOTEBOOKS)

# The Chinese chapters (notebooks/zh): English code cells + notebooks/zh/src/*.md, then run
# them to store their Chinese outputs. Fails and says what to translate when the English
# chapters changed (see notebooks/zh/build.py).
notebooks-zh: $(STAMP_LAB)
	$(PY) notebooks/zh/build.py
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace notebooks/zh/[0-9]*.ipynb

e2e: $(STAMP_TEST)
	$(TPY) -m pytest -q -p no:cacheprovider tests/e2e $(PYTEST_ARGS)

# Click -> visible change of every explorer in JupyterLab + headless Chromium, 20 clicks
# each at 1 GiB and 64 GiB, against an empty comm round trip (issue 21; `make test` skips
# it). Table: test-output/e2e/click-latency-<ram>.md. KMEMLAB_BENCH_CLICKS=5 for a quick one.
e2e-bench: $(STAMP_TEST)
	KMEMLAB_E2E_BENCH=1 $(TPY) -m pytest -q -p no:cacheprovider tests/e2e/test_bench_clicks.py $(PYTEST_ARGS)

bench: $(STAMP_TEST)
	$(TPY) -m pytest -q tests/benchmarks --benchmark-only --benchmark-columns=ops,mean,rounds

# The API fuzzer's long run (issue 15; a short one is part of `make test`).
FUZZ_OPS ?= 100000
fuzz: $(STAMP_TEST)
	$(TPY) tests/fuzz/apifuzz.py --ops $(FUZZ_OPS) --jobs 2 $(FUZZ_ARGS)

lint: $(STAMP_TEST)
	$(TEST_VENV)/bin/ruff check kmemlab tests deploy

# The Binder link of your copy, from BINDER_REPO=<github user>/<repo> or the `origin` remote.
BINDER_REPO ?= $(shell git remote get-url origin 2>/dev/null | \
	sed -nE 's#^(https://github\.com/|git@github\.com:)([^/]+/[^/]+)$$#\2#p' | sed 's/\.git$$//')
binder-link:
	@test -n "$(BINDER_REPO)" || { echo "make binder-link BINDER_REPO=<github user>/<repo>" \
	  "(no GitHub 'origin' remote to read it from)" >&2; exit 2; }
	@echo "https://mybinder.org/v2/gh/$(BINDER_REPO)/HEAD?urlpath=lab/tree/notebooks/00-start-here.ipynb"

clean:
	rm -rf $(VENV) $(TEST_VENV) build *.egg-info .pytest_cache
