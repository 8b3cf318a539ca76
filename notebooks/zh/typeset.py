"""Chinese punctuation for the Chinese chapters: full-width ，：；（）？！ and “” next to
Chinese text, as a Chinese textbook sets it; code spans, fenced code, link targets, HTML
tags and {format} fields are left alone.

    python notebooks/zh/typeset.py FILE...        # rewrite .md sources / .po catalogs
    python notebooks/zh/typeset.py --check FILE...

In a .po file only msgstr lines change. tests/notebooks/test_zh.py checks the sources.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
# protected: fenced code, inline code, markdown link targets, HTML tags, URLs, {fields}
PROTECT = re.compile(r"```.*?```|`[^`\n]*`|\]\([^)\s]*\)|<[^>\n]+>|https?://\S+|"
                     r"\{[0-9a-z_:,.!]*\}|&#?\w+;", re.S)
QUOTED = re.compile(r"'[^'\n]*'")
NAME_PAREN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\(")


def _hold_calls(text: str, hold) -> str:
    """Hold every call ``name(...)`` (nested parentheses too) that has no Chinese in it."""
    out, pos = [], 0
    for m in NAME_PAREN.finditer(text):
        if m.start() < pos:
            continue
        depth, j = 0, m.end() - 1
        while j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0 or text[j] == "\n":
                break
            j += 1
        if j >= len(text) or text[j] != ")" or CJK.search(text[m.start():j + 1]):
            continue
        out.append(text[pos:m.start()])
        out.append(hold(re.match(r".*", text[m.start():j + 1], re.S)))
        pos = j + 1
    return "".join(out) + text[pos:]
PAIRS = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}


def _is_cjk(c: str) -> bool:
    return bool(c) and bool(CJK.match(c))


def _fix_marks(t: str) -> str:
    """ASCII , ; : ? ! in Chinese prose → full width (not 1,024 or 10:30 or ://)."""
    out = list(t)
    for i, c in enumerate(t):
        if c in PAIRS:
            prev = t[i - 1] if i else ""
            nxt = t[i + 1] if i + 1 < len(t) else ""
            after = t[i + 2] if nxt == " " and i + 2 < len(t) else nxt
            if (prev.isdigit() and nxt.isdigit()) or (c == ":" and nxt == "/") or \
                    (prev.isascii() and prev.isalnum() and after.isascii() and after.isalnum()):
                continue          # 1,024  10:30  ://  an English phrase: "NULL, free"
            out[i] = PAIRS[c]
    return re.sub(r"([，：；？！])[ ]+", r"\1", "".join(out))   # no space after them


def _fix_parens(t: str) -> str:
    def repl(m):
        before = t[m.start() - 1] if m.start() else ""
        if before == " " and m.start() >= 2:
            before = t[m.start() - 2]
        after = t[m.end()] if m.end() < len(t) else ""
        if not CJK.search(m.group(1)) and before.isascii() and not _is_cjk(after):
            return m.group(0)          # kmalloc(12 KiB), x86(i386): a call or a name
        return "（" + m.group(1) + "）"
    return re.sub(r"\(([^()\n]*)\)", repl, t)


def _fix_quotes(t: str) -> str:
    return re.sub(r'"([^"\n]*)"', lambda m: "“" + m.group(1) + "”", t)


def _fix_chinese(t: str) -> str:
    t = _fix_marks(_fix_parens(_fix_quotes(t)))
    t = re.sub(r"(?<=[\u4e00-\u9fff]) +（", "（", t)     # 大小 （B） → 大小（B）
    return re.sub(r"） +(?=[\u4e00-\u9fff])", "）", t)


def fix(text: str) -> str:
    """``text`` with Chinese punctuation in its Chinese paragraphs; protected spans (code,
    link targets, tags, {fields}) unchanged, paragraphs without Chinese unchanged."""
    spans: list[str] = []

    def hold(m):
        spans.append(m.group(0))
        return f"\ue000{len(spans) - 1}\ue001"

    held = PROTECT.sub(hold, text)
    # calls and English quotes inside Chinese text keep their ASCII: kmalloc(64, GFP_KERNEL),
    # 'scheduling while atomic'
    held = QUOTED.sub(lambda m: hold(m) if not CJK.search(m.group(0)) else m.group(0), held)
    held = _hold_calls(held, hold)
    paras = re.split(r"(\n\s*\n)", held)
    paras = [_fix_chinese(p) if CJK.search(p) else p for p in paras]
    out = "".join(paras)
    while "\ue000" in out:       # a held call may hold a held span: restore inside out
        out = re.sub("\ue000(\\d+)\ue001", lambda m: spans[int(m.group(1))], out)
    return out


def fix_po(text: str) -> str:
    out = []
    in_str = False
    for line in text.splitlines(keepends=True):
        if line.startswith("msgstr "):
            in_str = True
            out.append('msgstr ' + _fix_po_str(line[7:]))
        elif line.startswith('"') and in_str:
            out.append(_fix_po_str(line))
        else:
            in_str = False if line.startswith(("msgid", "#")) or not line.strip() else in_str
            out.append(line)
    return "".join(out)


def _fix_po_str(quoted: str) -> str:
    import ast
    body = quoted.rstrip("\n")
    fixed = fix(ast.literal_eval(body))
    esc = fixed.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + esc + '"' + quoted[len(body):]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    bad = []
    for name in [a for a in argv if a != "--check"]:
        p = Path(name)
        text = p.read_text(encoding="utf-8")
        new = fix_po(text) if p.suffix == ".po" else fix(text)
        if new != text:
            bad.append(name)
            if not check:
                p.write_text(new, encoding="utf-8")
    if check and bad:
        print("half-width punctuation next to Chinese text in: " + ", ".join(bad) +
              " (run python notebooks/zh/typeset.py on them)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
