"""Sealing hides static answers and grades exactly like the original; grading to CSV."""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from quiz_helpers import EXAMPLES

from kmemlab.cli import main
from kmemlab.quiz import Quiz, Session
from kmemlab.quiz.sealer import dump_yaml, seal_quiz

RESPONSES = {
    "s1": ["GFP_ATOMIC", "GFP_KERNEL", " GFP_ATOMIC "],
    "m1": [["GFP_KERNEL", "vmalloc"], ["vmalloc", "GFP_KERNEL"], ["GFP_KERNEL"],
           ["GFP_KERNEL", "vmalloc", "GFP_ATOMIC"]],
    "n1": ["8", "8 KiB", "8192 B", "0x2000 B", "9", "8K", "abc", "7.99"],
    "n2": ["3.14", "3.13", "3.15", "3.1500001", "3.12999", "3.155", "314/100"],
    "n3": ["1000", "950", "1050", "949", "1051", "1e3", "-1000"],
    "t1": ["buddy", "Buddy  Allocator", "slab", ""],
}


@pytest.fixture
def sealed_pair(small_quiz, tmp_path):
    quiz = Quiz.load(small_quiz)
    data, warnings = seal_quiz(quiz, salt="00112233445566778899aabbccddeeff", iterations=1000)
    out = tmp_path / "sealed.yaml"
    out.write_text(dump_yaml(data))
    return quiz, Quiz.load(out), out


def test_sealed_grades_like_unsealed(sealed_pair):
    plain, sealed, _ = sealed_pair
    fp, fs = plain.functions(), sealed.functions()
    vp, vs = plain.variant("alice", fp), sealed.variant("alice", fs)
    for a, b in zip(vp, vs, strict=True):
        for resp in RESPONSES.get(a.question.id, []):
            ra = a.question.check(resp, a, fp)
            rb = b.question.check(resp, b, fs)
            assert (ra.correct, ra.points, ra.valid) == (rb.correct, rb.points, rb.valid), \
                (a.question.id, resp)


def test_tolerance_boundaries_are_identical(sealed_pair):
    plain, sealed, _ = sealed_pair
    cases = {
        # absolute 0.01 around 3.14: closed interval [3.13, 3.15], exact fractions
        "n2": ["3.13", "3.15", "3.129999", "3.150001", "3.14", "-3.14", "0"],
        # 5% around 1000: [950, 1050]
        "n3": ["950", "1050", "949.9", "1050.1", "1000", "-1000", "0", "1e9"],
    }
    for qid, responses in cases.items():
        qa, qb = plain.by_id[qid], sealed.by_id[qid]
        for r in responses:
            assert qa.check(r, None, None).correct == qb.check(r, None, None).correct, (qid, r)
    n2 = sealed.by_id["n2"]
    assert n2.check("3.13", None, None).correct and n2.check("3.15", None, None).correct
    assert not n2.check("3.15001", None, None).correct


def test_sealed_file_has_no_answers_in_clear(sealed_pair):
    _, _, path = sealed_pair
    text = path.read_text()
    data = yaml.safe_load(text)
    for q in data["questions"]:
        if q["type"] == "simulator":
            continue
        assert "answer" not in q and "accept" not in q and "explanation" not in q
        assert all(isinstance(c, str) for c in q.get("choices", []))
        assert len(q["sealed"]["hashes"][0]) == 64
    assert "correct" not in text
    assert "buddy allocator" not in text and "cannot sleep" not in text
    assert "splits and merges" not in text
    assert "3.14" not in text and "answer: 8\n" not in text


def test_sealed_explanation_unlocked_by_right_answer(sealed_pair):
    _, sealed, _ = sealed_pair
    q = sealed.by_id["t1"]
    assert q.check("buddy", None, None).explanation == "splits and merges"
    assert q.check("slab", None, None).explanation is None


def test_regex_refused_unless_kept(tmp_path):
    quiz = Quiz.load(EXAMPLES[-1])  # 06 has a regex question
    with pytest.raises(Exception, match="regex answer cannot be hashed"):
        seal_quiz(quiz)
    data, warnings = seal_quiz(quiz, keep_regex=True)
    assert warnings and "regex" in warnings[0]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_seal_and_check(path, tmp_path):
    out = tmp_path / "s.yaml"
    assert main(["quiz", "seal", str(path), "-o", str(out), "--keep-regex",
                 "--iterations", "1000"]) == 0
    assert main(["quiz", "check", "--seeds", "3", str(out)]) == 0


def _responses(quiz_path, student, answers, tmp_path, submit=True):
    s = Session(Quiz.load(quiz_path), student, mode="graded")
    for qid, a in answers.items():
        s.answer(qid, a)
    if submit:
        s.submit()
    return s.save(tmp_path / f"{student}.json")


def test_grade_cli_csv_sealed_equals_unsealed(small_quiz, sealed_pair, tmp_path, capsys):
    _, sealed, sealed_path = sealed_pair
    plain = Quiz.load(small_quiz)
    files = []
    for student in ("alice", "bob"):
        v = {x.question.id: x for x in plain.variant(student)}
        f = plain.functions()
        answers = {"s1": "GFP_ATOMIC", "m1": ["GFP_KERNEL"], "n1": "8 KiB", "n2": "3.145",
                   "n3": "1049", "t1": "Buddy",
                   "sim": v["sim"].question.expected(v["sim"].params, f),
                   "simn": "0" if student == "bob" else
                   str(v["simn"].question.expected(v["simn"].params, f))}
        files.append(str(_responses(small_quiz, student, answers, tmp_path)))
    out1, out2 = tmp_path / "plain.csv", tmp_path / "sealed.csv"
    assert main(["quiz", "grade", *files, "--quiz", str(small_quiz), "--csv", str(out1)]) == 0
    assert main(["quiz", "grade", *files, "--quiz", str(sealed_path), "--csv",
                 str(out2)]) == 0
    rows1 = list(csv.DictReader(out1.open()))
    rows2 = list(csv.DictReader(out2.open()))
    strip = [{k: v for k, v in r.items() if k != "file"} for r in rows1]
    assert strip == [{k: v for k, v in r.items() if k != "file"} for r in rows2]
    alice = rows1[0]
    assert alice["student"] == "alice" and alice["m1"] == "0" and alice["s1"] == "1"
    assert alice["points"] == "7" and alice["max"] == "8" and alice["percent"] == "87.5"
    assert rows1[1]["student"] == "bob" and rows1[1]["simn"] in ("0", "1")


def test_grade_bad_responses(small_quiz, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"kmemlab_responses": 1, "quiz": {"id": "elsewhere"},
                                 "student": "eve", "answers": {}}))
    good = _responses(small_quiz, "carol", {"s1": "GFP_ATOMIC"}, tmp_path)
    out = tmp_path / "g.csv"
    rc = main(["quiz", "grade", str(bad), str(other), str(good), "--quiz", str(small_quiz),
               "--csv", str(out)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "not a JSON responses file" in err and "not 't-small'" in err
    assert [r["student"] for r in csv.DictReader(out.open())] == ["carol"]
    assert main(["quiz", "grade", "missing.json", "--quiz", str(small_quiz),
                 "--csv", str(out)]) == 2
