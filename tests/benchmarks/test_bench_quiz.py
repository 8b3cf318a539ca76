"""How long ``km.quiz.show`` takes: the quiz cell of every chapter (issue 21: under 0.2 s).

Run with ``pytest tests/benchmarks/test_bench_quiz.py --benchmark-only``. Three figures:

* ``show``: the cell run again in the same kernel (the file's parse and schema check are
  reused, the widget is built anew);
* ``show_uncached``: the same with the parse/check cache emptied before each round;
* ``show_fresh_process``: what Run All in a new kernel pays, the first ``show`` in a new
  Python that has imported kmemlab and ipywidgets as the chapters' earlier cells have
  (so the quiz modules, PyYAML and the widget classes are imported inside the figure).
  Measured in a child process, reported in ``extra_info`` (the round itself includes
  starting Python).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import kmemlab as km
from kmemlab.quiz import model

ROOT = Path(__file__).resolve().parents[2]
QUIZZES = sorted((ROOT / "notebooks" / "quizzes").glob("0*.yaml"))
FIRST, LAST = QUIZZES[0], QUIZZES[-1]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # a graded quiz would save next to the working folder
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)


@pytest.mark.parametrize("path", QUIZZES, ids=lambda p: p.stem)
def test_bench_show(benchmark, path):
    km.quiz.show(path, student="your-name")
    w = benchmark(km.quiz.show, path, student="your-name")
    assert w.session.variants


@pytest.mark.parametrize("path", [FIRST, LAST], ids=lambda p: p.stem)
def test_bench_show_uncached(benchmark, path):
    w = benchmark.pedantic(km.quiz.show, args=(path,), kwargs={"student": "your-name"},
                           setup=model._DOCUMENTS.clear, rounds=20)
    assert w.session.variants


_CHILD = r"""
import json, sys, time
import ipywidgets, kmemlab as km
t0, c0 = time.perf_counter(), time.process_time()
w = km.quiz.show(sys.argv[1], student="your-name")
t1, c1 = time.perf_counter(), time.process_time()
km.quiz.show(sys.argv[1], student="your-name")
t2 = time.perf_counter()
print(json.dumps({"first": t1 - t0, "first_cpu": c1 - c0, "again": t2 - t1,
                  "jsonschema": "jsonschema" in sys.modules, "n": len(w.session.variants)}))
"""


@pytest.mark.parametrize("path", [FIRST, LAST], ids=lambda p: p.stem)
def test_bench_show_fresh_process(benchmark, path):
    runs = []

    def child():
        out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True,
                             text=True, check=True, cwd=path.parent.parent)
        runs.append(json.loads(out.stdout))

    benchmark.pedantic(child, rounds=3)
    best = min(runs, key=lambda r: r["first"])
    benchmark.extra_info.update({
        "first_show_s": round(best["first"], 4), "first_show_cpu_s": round(best["first_cpu"], 4),
        "again_s": round(best["again"], 4)})
    assert not any(r["jsonschema"] for r in runs)   # the ~1 s import a valid quiz skips
    assert best["n"] > 0
