"""kmemlab.i18n: languages, the .po reader, the in-memory msgfmt, translated "why" texts.
English stays the default and byte-identical (nbval checks the chapters' outputs)."""

from __future__ import annotations

import gettext
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kmemlab as km
from kmemlab import i18n

LOCALE = Path(i18n.__file__).parent / "locale"


@pytest.fixture(autouse=True)
def _english_after():
    yield
    km.set_language("en")


def test_default_is_english_and_identity():
    assert km.get_language() == "en"
    assert i18n.gettext("Submit") == "Submit"
    assert i18n.translate_why("took a block from the buddy free lists under the zone lock") == \
        "took a block from the buddy free lists under the zone lock"


def test_set_language_names_and_errors():
    assert km.set_language("zh_CN") == "zh"
    assert km.set_language("zh-CN") == "zh"
    assert km.set_language("EN") == "en"
    with pytest.raises(ValueError, match="use one of en, zh"):
        km.set_language("fr")
    with pytest.raises(TypeError, match="must be a string"):
        km.set_language(None)
    assert km.get_language() == "en"       # a refused call changes nothing


def test_environment_sets_the_initial_language():
    code = "import kmemlab as km; print(km.get_language(), km.i18n.gettext('Submit'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"KMEMLAB_LANG": "zh", "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.split() == ["zh", "提交"]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"KMEMLAB_LANG": "klingon", "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.split() == ["en", "Submit"]


def test_chinese_catalog():
    km.set_language("zh")
    assert i18n.gettext("Submit") == "提交"
    assert i18n.gettext("&nbsp;<b>Score: {:g} / {:g}</b>").format(2, 3) == \
        "&nbsp;<b>得分：2 / 3</b>"
    assert i18n.gettext("no such message") == "no such message"   # falls back to English


PO = r'''# a comment
msgid ""
msgstr "Content-Type: text/plain; charset=UTF-8\n"

msgid "one"
msgstr "一"

msgid "two "
"lines"
msgstr "两"
"行\t"

#, fuzzy
msgid "fuzzy"
msgstr "模糊"

msgid "untranslated"
msgstr ""

msgid "quote \" and \\ backslash"
msgstr "引号 \" 和 \\"
'''


def test_parse_po():
    m = i18n.parse_po(PO)
    assert m["one"] == "一"
    assert m["two lines"] == "两行\t"
    assert m['quote " and \\ backslash'] == '引号 " 和 \\'
    assert "fuzzy" not in m and "untranslated" not in m
    assert m[""].startswith("Content-Type")


@pytest.mark.parametrize("bad, what", [
    ('msgctxt "x"\nmsgid "a"\nmsgstr "b"\n', "msgctxt is not supported"),
    ('msgid "a"\nmsgid_plural "as"\nmsgstr[0] "b"\n', "msgid_plural is not supported"),
    ('msgstr "b"\n', "msgstr without msgid"),
    ('msgid a\nmsgstr "b"\n', "not a quoted PO string"),
    ('"lonely"\n', "continuation line outside an entry"),
    ('msgid "a"\nnonsense\n', "cannot parse"),
])
def test_parse_po_errors(bad, what):
    with pytest.raises(ValueError, match=what):
        i18n.parse_po(bad, "bad.po")


def test_msgfmt_is_read_by_the_standard_library():
    mo = i18n.msgfmt(i18n.parse_po(PO))
    t = gettext.GNUTranslations(io.BytesIO(mo))
    assert t.gettext("one") == "一" and t.gettext("two lines") == "两行\t"
    assert t.gettext("fuzzy") == "fuzzy"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt not installed")
@pytest.mark.parametrize("po", sorted(LOCALE.glob("*/LC_MESSAGES/*.po")) +
                         sorted((Path(__file__).parents[2] / "notebooks/locale")
                                .glob("*/LC_MESSAGES/*.po")), ids=lambda p: p.name)
def test_catalogs_compile_like_gnu_msgfmt(po, tmp_path):
    """Every shipped catalog is valid for GNU msgfmt --check, and both compilers give
    the same messages."""
    out = tmp_path / "x.mo"
    r = subprocess.run(["msgfmt", "--check", "-o", str(out), str(po)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    gnu = gettext.GNUTranslations(io.BytesIO(out.read_bytes()))
    ours = gettext.GNUTranslations(io.BytesIO(i18n.msgfmt(
        i18n.parse_po(po.read_text(encoding="utf-8")))))
    assert gnu._catalog == ours._catalog


def test_catalogs_are_package_data():
    """A wheel carries the catalogs (pyproject's package-data pattern matches them)."""
    import tomllib
    data = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["kmemlab"]
    files = [p.relative_to(LOCALE.parent) for p in LOCALE.glob("*/LC_MESSAGES/*.po")]
    assert len(files) >= 2
    assert all(any(f.match(pat) for pat in patterns) for f in files)


def test_translate_why_pieces_and_templates():
    km.set_language("zh")
    why = ("kmalloc(100) → kmalloc-128: first size class ≥ 100; 28 bytes wasted; "
           "slow path: no partial slab; something the catalog does not know")
    assert i18n.translate_why(why) == ("kmalloc(100) → kmalloc-128：第一个 ≥ 100 的大小级别；"
                                       "浪费 28 字节；慢速路径：没有部分空闲的 slab；"
                                       "something the catalog does not know")
    # "; " inside parentheses does not split; {0} {1} reorder the pieces
    assert i18n.translate_why("fallback: Unmovable request took a Movable block of order 10") \
        == "回退：Unmovable 类型的请求占用了一个 10 阶的 Movable 块"


def test_trace_why_follows_the_language_but_not_the_kernel_text():
    k = km.Kernel(version="6.12")
    k.kmalloc(100, km.GFP_KERNEL)
    english = k.trace.last.why
    ftrace, dmesg, slabinfo = k.trace.to_ftrace(), list(k.dmesg), k.proc("slabinfo")
    km.set_language("zh")
    assert k.trace.last.why != english and "大小级别" in k.trace.last.why
    # kernel output is never translated
    assert (k.trace.to_ftrace(), list(k.dmesg), k.proc("slabinfo")) == (ftrace, dmesg, slabinfo)
    assert k.kmalloc(1 << 23, km.GFP_KERNEL) is None
    line = next(x for x in k.dmesg if "kmemlab: kmalloc(8388608) failed" in x)
    assert "kmemlab: kmalloc(8388608) failed" in line          # k.dmesg is the English log
    shown = i18n.translate_dmesg(line)                          # the explorers' dmesg box
    assert shown.startswith(line[:15]) and "失败" in shown and "kmalloc 最大是 4 MiB" in shown
    warning = next(x for x in k.dmesg if "WARNING: CPU" in x)
    assert i18n.translate_dmesg(warning) == warning            # the kernel's own line
    km.set_language("en")
    assert k.trace.events("kmalloc")[0].why == english
