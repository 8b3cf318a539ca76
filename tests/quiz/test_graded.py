"""Graded mode holds: saved on Submit, resumed when shown again, attempts enforced, and
``kmemlab quiz grade`` flags histories that do not fit."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from quiz_helpers import SMALL

from kmemlab.cli import main
from kmemlab.quiz import Quiz, Session
from kmemlab.quiz.identity import IdentityError, nbgrader_student, student_id
from kmemlab.quiz.session import AttemptError, quiz_hash, record_digest

pytest.importorskip("ipywidgets")
import kmemlab as km  # noqa: E402

GOOD = {"s1": "GFP_ATOMIC", "m1": ["GFP_KERNEL", "vmalloc"], "n1": "8 KiB", "n2": "3.14",
        "n3": "1000", "t1": "buddy"}


def graded(tmp_path, attempts=1) -> Path:
    p = tmp_path / f"graded{attempts}.yaml"
    p.write_text(SMALL.replace("settings: {mode: graded,",
                               f"settings: {{mode: graded, attempts: {attempts},"))
    return p


def answer(w, answers):
    for qid, a in answers.items():
        inp = w.inputs[qid]
        if isinstance(inp, list):
            for cb in inp:
                cb.value = cb.description in a
        else:
            inp.value = a


def test_submit_saves_and_a_rerun_shows_the_saved_submission(tmp_path):
    q = graded(tmp_path)
    w = km.quiz.show(str(q), student="alice")
    answer(w, {**GOOD, "n2": "3.5"})
    w.submit_button.click()
    saved = tmp_path / "t-small-alice.json"
    data = json.loads(saved.read_text())
    (rec,) = data["submissions"]
    assert rec["attempt"] == 1 and rec["student"] == "alice"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec["time"])
    assert rec["quiz"] == {"id": "t-small", "hash": quiz_hash(Quiz.load(q))}
    assert rec["kmemlab"] == km.__version__ and data["kmemlab"] == km.__version__
    assert rec["answers"]["n2"] == "3.5" and data["attempts_allowed"] == 1
    first = w.score()
    # no wall clock in what the notebook shows
    assert not re.search(r"\d\d:\d\d", w.status.value + w.summary.value)

    again = km.quiz.show(str(q), student="alice")        # the cell re-run
    assert again.session.resumed and again.session.submitted
    assert again.score() == first
    assert again.inputs["n2"].value == "3.5" and again.inputs["n2"].disabled
    assert again.submit_button.disabled
    assert "No attempts left" in again.status.value
    assert again.retake_button.layout.display == "none"
    assert again.retake() is False and "no attempts left" in again.status.value
    with pytest.raises(AttemptError, match="already submitted"):
        again.session.submit()
    assert len(json.loads(saved.read_text())["submissions"]) == 1


def test_kernel_restart_resumes_from_the_file(tmp_path):
    q = graded(tmp_path)
    w = km.quiz.show(str(q), student="bob")
    answer(w, GOOD)
    w.submit()
    code = (f"import kmemlab as km; w = km.quiz.show({str(q)!r}, student='bob'); "
            "print(w.session.resumed, w.submit_button.disabled, w.score())")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"True True {w.score()}"


def test_attempts_counted_and_enforced(tmp_path):
    q = graded(tmp_path, attempts=2)
    w = km.quiz.show(str(q), student="carol")
    answer(w, {"s1": "GFP_USER"})
    w.submit()
    assert w.retake_button.layout.display is None and "1 more attempt" in w.status.value
    assert w.retake() is True
    assert not w.inputs["s1"].disabled and w.inputs["s1"].value is None
    answer(w, {"s1": "GFP_ATOMIC"})
    w.submit()
    assert "No attempts left" in w.status.value
    subs = json.loads((tmp_path / "t-small-carol.json").read_text())["submissions"]
    assert [s["attempt"] for s in subs] == [1, 2]
    assert subs[0]["answers"] == {"s1": "GFP_USER"} and subs[1]["answers"] == {"s1": "GFP_ATOMIC"}
    assert subs[1]["time"] >= subs[0]["time"]
    assert w.retake() is False


def test_two_copies_of_the_quiz_cannot_both_submit(tmp_path):
    q = graded(tmp_path)
    a = km.quiz.show(str(q), student="dan")
    b = km.quiz.show(str(q), student="dan")   # the cell run twice before submitting
    answer(a, {"s1": "GFP_USER"})
    a.submit()
    answer(b, GOOD)
    b.submit()
    assert "no attempts left" in b.status.value and not b.session.submitted
    data = json.loads((tmp_path / "t-small-dan.json").read_text())
    assert len(data["submissions"]) == 1 and data["answers"] == {"s1": "GFP_USER"}


def test_save_never_drops_submissions(tmp_path):
    q = Quiz.load(graded(tmp_path))
    s = Session(q, "erin", mode="graded", path=tmp_path / "e.json")
    s.answer("s1", "GFP_ATOMIC")
    s.submit()
    fresh = Session(q, "erin", mode="graded")             # no path: knows no history
    with pytest.raises(AttemptError, match="not overwritten"):
        fresh.save(tmp_path / "e.json")
    other = Session(q, "mallory", mode="graded")
    with pytest.raises(AttemptError, match="not of 'mallory'"):
        other.save(tmp_path / "e.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(AttemptError, match="cannot be read"):
        Session(q, "erin", mode="graded", path=tmp_path / "junk.json")
    assert len(json.loads((tmp_path / "e.json").read_text())["submissions"]) == 1


def test_hub_user_wins_over_a_typed_name_in_graded_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "student-7")
    w = km.quiz.show(str(graded(tmp_path)), student="somebody-else")
    assert w.session.student == "student-7"
    assert w.save_path.value == "t-small-student-7.json"
    practice = km.quiz.show(str(graded(tmp_path)), student="typed", mode="practice")
    assert practice.session.student == "typed"


def test_identity(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "hubuser")
    assert student_id() == "hubuser"
    d = tmp_path / "autograded" / "s123" / "ps1"
    d.mkdir(parents=True)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert nbgrader_student(d) == "s123"
    monkeypatch.chdir(d)
    assert student_id() == "s123"                    # nbgrader's id wins over the hub's
    with pytest.raises(IdentityError, match="directory_structure"):
        nbgrader_student(tmp_path)
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert student_id() == "hubuser"


# ---------------------------------------------------------------- kmemlab quiz grade
def _submitted(tmp_path, student, attempts=1, answers=GOOD) -> Path:
    q = graded(tmp_path, attempts)
    w = km.quiz.show(str(q), student=student)
    answer(w, answers)
    w.submit()
    return tmp_path / f"t-small-{student}.json"


def _grade(tmp_path, quiz, files):
    out = tmp_path / "g.csv"
    rc = main(["quiz", "grade", *map(str, files), "--quiz", str(quiz), "--csv", str(out)])
    return rc, {r["student"]: r for r in csv.DictReader(out.open())}


def _edit(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_grade_clean_history_has_no_flags(tmp_path, capsys):
    f = _submitted(tmp_path, "alice")
    rc, rows = _grade(tmp_path, graded(tmp_path), [f])
    assert rc == 0 and rows["alice"]["flags"] == "" and rows["alice"]["attempts"] == "1"
    assert rows["alice"]["points"] == "6"


@pytest.mark.parametrize("tamper,flag", [
    (lambda d: d.update(answers={**d["answers"], "n2": "3.14159"}), "differ from the last"),
    (lambda d: d["submissions"][0]["answers"].update(n2="9"), "does not match its digest"),
    (lambda d: d["submissions"][0].update(attempt=2), "says attempt 2"),
    (lambda d: d.update(submissions=[]), "no submission recorded"),
    (lambda d: d.update(mode="practice"), "practice mode"),
])
def test_grade_flags_hand_edits(tmp_path, capsys, tamper, flag):
    f = _submitted(tmp_path, "bob")
    _edit(f, tamper)
    rc, rows = _grade(tmp_path, graded(tmp_path), [f])
    assert rc == 1 and flag in rows["bob"]["flags"]
    assert f"flag: {f}" in capsys.readouterr().err


def test_grade_flags_a_forged_extra_attempt_and_time_going_back(tmp_path):
    f = _submitted(tmp_path, "carol")

    def forge(d):   # a well-formed second record, digest recomputed: only the count shows
        rec = dict(d["submissions"][0], attempt=2, time="2000-01-01T00:00:00Z")
        rec["digest"] = record_digest(rec, d["submissions"][0]["digest"])
        d["submissions"].append(rec)
    _edit(f, forge)
    rc, rows = _grade(tmp_path, graded(tmp_path), [f])
    flags = rows["carol"]["flags"]
    assert rc == 1 and "2 submissions, the quiz allows 1" in flags
    assert "earlier than attempt 1" in flags and "digest" not in flags


def test_grade_flags_another_version_of_the_quiz(tmp_path):
    f = _submitted(tmp_path, "dan")
    changed = tmp_path / "changed.yaml"
    changed.write_text(graded(tmp_path).read_text().replace("pi-ish", "pi, roughly"))
    rc, rows = _grade(tmp_path, changed, [f])
    assert rc == 1 and "another version of the quiz" in rows["dan"]["flags"]


def test_quiz_hash_same_for_sealed_copy_and_changes_with_settings(tmp_path):
    q = graded(tmp_path)
    out = tmp_path / "sealed.yaml"
    assert main(["quiz", "seal", str(q), "-o", str(out), "--iterations", "1000"]) == 0
    assert quiz_hash(Quiz.load(q)) == quiz_hash(Quiz.load(out))
    assert quiz_hash(Quiz.load(q)) != quiz_hash(Quiz.load(graded(tmp_path, attempts=2)))
    f = _submitted(tmp_path, "erin")
    rc, rows = _grade(tmp_path, out, [f])        # graded with the sealed copy: same hash
    assert rc == 0 and rows["erin"]["flags"] == ""
