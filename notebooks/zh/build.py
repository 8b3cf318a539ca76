"""Build the Chinese chapters notebooks/zh/NN-*.ipynb from the English ones.

One source of truth for the code: a Chinese notebook is its English notebook with every
markdown cell replaced by its translation from ``src/NN-*.md``; code cells (source,
metadata, ids, order) are copied unchanged. The translations are keyed by the English
cell's id and remember a hash of the English text they translate::

    <!-- cell 01-004 en:3f2a9c1b07 -->
    ### "1 GB" 的限制
    ...

The build fails loudly (exit status 1, a list of what to do) when

* an English markdown cell has no translation (``missing``),
* a translation has no English cell (``orphan``: the cell was deleted or its id changed),
* the English text changed since it was translated (``stale``: the hash differs),
* a string the errata boxes show (``errata(says=..., does=..., ...)`` in an English code
  cell) has no entry in ../locale/zh/LC_MESSAGES/chapters.po.

Usage (from the repository root)::

    python notebooks/zh/build.py              # check + write notebooks/zh/*.ipynb
    python notebooks/zh/build.py --check      # only check (what the tests run)
    python notebooks/zh/build.py --stubs      # print missing/stale cells to translate
    python notebooks/zh/build.py --rehash 01-004 02-010   # these are re-translated now
    python notebooks/zh/build.py --allow-missing  # stopgap: untranslated cells stay English
    make notebooks-zh                         # build, then execute the zh notebooks

Only the markdown is written; run ``make notebooks-zh`` (or nbconvert --execute) to store
the Chinese outputs (widgets, errata boxes, exercise texts come out in Chinese there,
because ``exercises`` imported from notebooks/zh/ switches kmemlab to Chinese).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EN_DIR = HERE.parent
SRC_DIR = HERE / "src"
PO = EN_DIR / "locale" / "zh" / "LC_MESSAGES" / "chapters.po"
MARK = re.compile(r"^<!-- cell (\S+) en:([0-9a-f]{10}) -->\s*$", re.M)
ERRATA_TEXT_ARGS = ("says", "does", "section", "who", "real")


def en_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def source(cell: dict) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def as_lines(text: str) -> list[str]:
    """nbformat's on-disk form of a source: lines keeping their newline."""
    return text.splitlines(keepends=True)


def chapters() -> list[Path]:
    return sorted(EN_DIR.glob("[0-9][0-9]-*.ipynb"))


def read_src(path: Path) -> dict[str, tuple[str, str]]:
    """{cell id: (hash of the English it translates, Chinese markdown)}."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    out: dict[str, tuple[str, str]] = {}
    marks = list(MARK.finditer(text))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end():end].strip("\n")
        if m.group(1) in out:
            raise SystemExit(f"{path}: cell {m.group(1)} is translated twice")
        out[m.group(1)] = (m.group(2), body)
    return out


def errata_strings(code: str) -> list[str]:
    """The constant texts an ``errata(...)`` call shows (evidence keys included)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:          # IPython magics: no errata call to check there
        return []
    out: list[str] = []

    def const(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = const(node.left), const(node.right)
            return a + b if a is not None and b is not None else None
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "errata":
            args = dict(zip(("says", "does", "evidence"), node.args))
            args.update({kw.arg: kw.value for kw in node.keywords})
            for name in ERRATA_TEXT_ARGS:
                if name in args and (s := const(args[name])):
                    out.append(s)
            ev = args.get("evidence")
            if isinstance(ev, ast.Dict):
                out += [s for key in ev.keys if key is not None and (s := const(key))]
    return out


def po_ids(path: Path) -> set[str]:
    sys.path.insert(0, str(EN_DIR.parent))   # the checkout's kmemlab, if not installed
    from kmemlab.i18n import parse_po
    return set(parse_po(path.read_text(encoding="utf-8"), str(path))) if path.exists() \
        else set()


def plan(nb_path: Path, allow_missing: bool = False) \
        -> tuple[dict, list[str], list[tuple[str, str]]]:
    """The Chinese notebook and the problems: (notebook, errors, cells to translate).
    ``allow_missing``: an untranslated cell keeps its English text (a stopgap; the tests
    still fail until it is translated)."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    src_path = SRC_DIR / (nb_path.stem + ".md")
    zh = read_src(src_path)
    errors: list[str] = []
    todo: list[tuple[str, str]] = []
    seen = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        cid = cell.get("id")
        if not cid:
            errors.append(f"{nb_path.name}: a markdown cell has no id (nbformat >= 4.5 needed)")
            continue
        seen.add(cid)
        en = source(cell)
        if cid not in zh:
            todo.append((cid, en))
            if allow_missing:
                print(f"warning: {src_path.name}: cell {cid} stays in English", file=sys.stderr)
            else:
                errors.append(f"{src_path.name}: missing translation of cell {cid}")
            continue
        h, text = zh[cid]
        if h != en_hash(en) and allow_missing:
            print(f"warning: {src_path.name}: cell {cid} keeps its old translation",
                  file=sys.stderr)
            todo.append((cid, en))
        elif h != en_hash(en):
            errors.append(f"{src_path.name}: cell {cid} changed in English since it was "
                          f"translated (en:{h} != en:{en_hash(en)}); update the Chinese, then "
                          f"`build.py --rehash {cid}`")
            todo.append((cid, en))
        cell["source"] = as_lines(text)
    for cid in zh:
        if cid not in seen:
            errors.append(f"{src_path.name}: cell {cid} has no English markdown cell "
                          f"(deleted, or its id changed in {nb_path.name})")
    nb["metadata"]["kmemlab"] = {"language": "zh", "built_from": f"../{nb_path.name}"}
    return nb, errors, todo


def check_errata(ids: set[str]) -> list[str]:
    errors = []
    for nb_path in chapters():
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                for s in errata_strings(source(cell)):
                    if s not in ids:
                        errors.append(f"{PO.name}: no translation of {s[:70]!r} "
                                      f"({nb_path.name}, cell {cell.get('id')})")
    return errors


def rehash(ids: list[str]) -> None:
    en = {}
    for nb_path in chapters():
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                en[cell["id"]] = (nb_path.stem, source(cell))
    for cid in ids:
        if cid not in en:
            raise SystemExit(f"no English markdown cell {cid}")
        stem, text = en[cid]
        p = SRC_DIR / f"{stem}.md"
        body = p.read_text(encoding="utf-8")
        new, n = re.subn(rf"^<!-- cell {re.escape(cid)} en:[0-9a-f]{{10}} -->",
                         f"<!-- cell {cid} en:{en_hash(text)} -->", body, flags=re.M)
        if not n:
            raise SystemExit(f"{p.name}: no translation of {cid} to rehash")
        p.write_text(new, encoding="utf-8")


def write(nb: dict, path: Path) -> bool:
    """Write ``nb`` keeping the outputs already stored in ``path`` (same code, same id)."""
    if path.exists():
        old = {c.get("id"): c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]}
        for cell in nb["cells"]:
            o = old.get(cell.get("id"))
            if cell["cell_type"] == "code" and o and source(o) == source(cell):
                cell["outputs"] = o.get("outputs", [])
                cell["execution_count"] = o.get("execution_count")
        widgets = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("widgets")
        if widgets is not None:
            nb["metadata"]["widgets"] = widgets
    text = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"  # as nbformat
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only check, write nothing")
    ap.add_argument("--stubs", action="store_true",
                    help="print the English of missing/stale cells with their markers")
    ap.add_argument("--allow-missing", action="store_true",
                    help="stopgap: build anyway, untranslated cells in English (warnings)")
    ap.add_argument("--rehash", nargs="+", metavar="ID",
                    help="record that these cells are translated from the current English")
    args = ap.parse_args(argv)
    if args.rehash:
        rehash(args.rehash)
    errors: list[str] = []
    built = []
    for nb_path in chapters():
        nb, errs, todo = plan(nb_path, args.allow_missing)
        errors += errs
        built.append((nb, HERE / nb_path.name))
        if args.stubs:
            for cid, en in todo:
                print(f"--- {nb_path.stem}.md\n<!-- cell {cid} en:{en_hash(en)} -->\n{en}\n")
    errors += check_errata(po_ids(PO))
    if errors:
        print("notebooks/zh/build.py: the Chinese chapters are not complete:", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    if args.check:
        stale = [p.name for nb, p in built
                 if not p.exists() or [source(c) for c in json.loads(
                     p.read_text(encoding="utf-8"))["cells"]] != [source(c) for c in nb["cells"]]]
        if stale:
            print("notebooks/zh: out of date, run `make notebooks-zh`: " + ", ".join(stale),
                  file=sys.stderr)
            return 1
        return 0
    for nb, path in built:
        if write(nb, path):
            print(f"wrote {path.relative_to(EN_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
