"""Linux 6.18 is a profile like the others: quizzes, the CLI and the widgets take it."""

from __future__ import annotations

import pytest

import kmemlab as km
from kmemlab import cli
from kmemlab.quiz import Quiz

QUIZ = """\
kmemlab_quiz: 1
id: t-618
title: "Linux 6.18"
settings: {mode: graded, kernel: {version: "6.18", ram: 1G, cpus: 2}}
questions:
  - id: sim
    type: simulator
    params: {size: {range: [9, 4096]}, version: ["6.12", "6.18"]}
    prompt: Linux {version}, kmalloc({size})?
    answer: kmalloc_cache(size, version=version)
"""


def test_quiz_with_a_618_kernel():
    quiz = Quiz.loads(QUIZ)
    assert quiz.check_answers(seeds=10) == []
    versions = {v.params["version"] for s in range(20) for v in quiz.variant(f"s{s}")}
    assert versions == {"6.12", "6.18"}


def test_quiz_schema_rejects_an_unknown_version():
    from kmemlab.quiz import QuizErrors
    with pytest.raises(QuizErrors):
        Quiz.loads(QUIZ.replace('version: "6.18", ram', 'version: "6.17", ram'))


def test_cli_boots_618(capsys):
    assert cli.main(["proc", "meminfo", "--version", "6.18"]) == 0
    out = capsys.readouterr().out
    assert "Balloon:" in out and "CmaTotal" not in out
    assert cli.main(["proc", "slabinfo", "--version", "6.18"]) == 0
    assert "maple_node" in capsys.readouterr().out


def test_dump_stack_line_of_618():
    k = km.Kernel(version="6.18")
    # lib/dump_stack.c on 6.18: "... #1 PREEMPT(voluntary)" / "(none)" with PREEMPT_DYNAMIC
    assert k.cpu_line().endswith("6.18.0-kmemlab #1 PREEMPT(none)")
    assert km.Kernel(version="6.12").cpu_line().endswith("6.12.0-kmemlab #1")


def test_compare_widget_takes_618():
    pytest.importorskip("ipywidgets")
    w = km.widgets.CompareKernels(km.Kernel(version="6.12", ram="1G"),
                                  km.Kernel(version="6.18", ram="1G"))
    w.w_n.value = 256
    w.btn_run.click()
    assert "6.12/x86_64" in w.why.value and "6.18/x86_64" in w.why.value
    assert "kmalloc-256" in w.table.value
