"""The Chinese chapters (notebooks/zh): built from the English ones, the same code, Chinese
prose, Chinese typesetting. The outputs are checked by nbval (make nbval / make test)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from zh_helpers import NOTEBOOKS, ZH, cjk_share, load, source

CHAPTERS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def _build_module():
    spec = importlib.util.spec_from_file_location("zh_build", ZH / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_english_chapter_has_a_chinese_one():
    assert len(CHAPTERS) == 7
    assert sorted(p.name for p in ZH.glob("[0-9][0-9]-*.ipynb")) == CHAPTERS


@pytest.mark.parametrize("name", CHAPTERS)
def test_code_cells_are_the_english_ones(name):
    """One source of truth for the code: same cells, same ids, same order, same code."""
    en, zh = load(NOTEBOOKS / name), load(ZH / name)
    assert [(c["cell_type"], c.get("id")) for c in zh["cells"]] == \
        [(c["cell_type"], c.get("id")) for c in en["cells"]]
    for a, b in zip(en["cells"], zh["cells"]):
        if a["cell_type"] == "code":
            assert source(b) == source(a), f"{name} cell {a['id']}: code differs"
            assert b.get("metadata", {}).get("tags") == a.get("metadata", {}).get("tags")


@pytest.mark.parametrize("name", CHAPTERS)
def test_markdown_is_chinese(name):
    """≥ 80 % of the prose characters are Chinese (identifiers and code excluded)."""
    share, cjk, other, share_all = cjk_share(load(ZH / name), load(NOTEBOOKS / name))
    assert share >= 0.80, f"{name}: {share:.1%} Chinese ({cjk} CJK, {other} Latin letters)"
    assert share_all >= 0.70, f"{name}: {share_all:.1%} counting every Latin letter"
    en_share, *_ = cjk_share(load(NOTEBOOKS / name))
    assert en_share < 0.2          # the measure tells the languages apart


def test_build_is_complete_and_up_to_date():
    r = subprocess.run([sys.executable, str(ZH / "build.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_build_fails_loudly_on_missing_orphan_and_stale(tmp_path, monkeypatch):
    b = _build_module()
    src = tmp_path / "src"
    src.mkdir()
    en = NOTEBOOKS / CHAPTERS[1]
    text = (b.SRC_DIR / (en.stem + ".md")).read_text(encoding="utf-8")
    marks = list(b.MARK.finditer(text))
    first, second = marks[0], marks[1]
    # drop the first translation, make the second stale, add one for a cell that is not there
    broken = text[second.start():].replace(second.group(0), f"<!-- cell {second.group(1)} "
                                           "en:0000000000 -->", 1)
    broken += "\n<!-- cell 99-nope en:0123456789 -->\n孤立的译文\n"
    (src / (en.stem + ".md")).write_text(broken, encoding="utf-8")
    monkeypatch.setattr(b, "SRC_DIR", src)
    nb, errors, todo = b.plan(en)
    text_errors = "\n".join(errors)
    assert f"missing translation of cell {first.group(1)}" in text_errors
    assert f"cell {second.group(1)} changed in English" in text_errors
    assert "cell 99-nope has no English markdown cell" in text_errors
    assert {cid for cid, _ in todo} == {first.group(1), second.group(1)}
    # the stopgap build keeps the English text of the untranslated cell, still says orphan
    nb, errors, _todo = b.plan(en, allow_missing=True)
    assert errors == [e for e in errors if "99-nope" in e] and errors
    cell = next(c for c in nb["cells"] if c.get("id") == first.group(1))
    assert source(cell) == source(next(c for c in load(en)["cells"] if c.get("id") ==
                                       first.group(1)))


def test_errata_texts_need_a_catalog_entry():
    b = _build_module()
    code = 'errata(says="Only in English", does="x", evidence={"a key": 1, f"{x}": 2})'
    assert b.errata_strings(code) == ["Only in English", "x", "a key"]
    assert len(b.check_errata(set())) > 100       # every errata text of the chapters
    assert b.check_errata(b.po_ids(b.PO)) == []


def test_chinese_typesetting():
    """Full-width ，：；（）“” in Chinese text (notebooks/zh/typeset.py)."""
    files = sorted(str(p) for p in (ZH / "src").glob("*.md"))
    files += [str(NOTEBOOKS / "locale/zh/LC_MESSAGES/chapters.po")]
    files += sorted(str(p) for p in (NOTEBOOKS.parent / "kmemlab/locale/zh/LC_MESSAGES")
                    .glob("*.po"))
    r = subprocess.run([sys.executable, str(ZH / "typeset.py"), "--check", *files],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    sys.path.insert(0, str(ZH))
    try:
        import typeset
    finally:
        sys.path.remove(str(ZH))
    assert typeset.fix('内存不够,分配就会睡眠(见 `k.kmalloc(1, 2)`):"原子"') == \
        "内存不够，分配就会睡眠（见 `k.kmalloc(1, 2)`）：“原子”"
    assert typeset.fix("kmalloc(64, GFP_KERNEL) 的地址") == "kmalloc(64, GFP_KERNEL) 的地址"
    assert typeset.fix("English, untouched: (a, b)") == "English, untouched: (a, b)"


def test_zh_folder_runs_like_the_english_one():
    """The code cells import exercises and read data/ and quizzes/ relative to the notebook:
    notebooks/zh has them (the exercises shim switches kmemlab to Chinese)."""
    for link in ("data", "quizzes"):
        assert (ZH / link).resolve() == (NOTEBOOKS / link).resolve()
    code = ("import kmemlab, exercises\n"
            "from exercises import ch02\n"
            "print(kmemlab.get_language(), exercises.__file__, ch02.__name__)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ZH, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lang, path, mod = r.stdout.split()
    assert lang == "zh" and path == str(NOTEBOOKS / "exercises" / "__init__.py")
    assert mod == "exercises.ch02"
