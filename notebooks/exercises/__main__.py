"""Answer key: ``python -m exercises alice bob [--chapter N] [--lang zh]`` (run from notebooks/)."""

from __future__ import annotations

import argparse
import importlib

CHAPTERS = range(7)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m exercises",
                                 description="Print each student's exercise variants and answers.")
    ap.add_argument("students", nargs="+", help="names or ids, as typed in STUDENT")
    ap.add_argument("--chapter", type=int, choices=list(CHAPTERS), help="only this chapter")
    ap.add_argument("--lang", choices=["en", "zh"], help="language of the key (default: "
                    "KMEMLAB_LANG, else English); 中文答案: --lang zh")
    args = ap.parse_args(argv)
    if args.lang:
        import kmemlab
        kmemlab.set_language(args.lang)
    chapters = [args.chapter] if args.chapter is not None else list(CHAPTERS)
    for student in args.students:
        print(f"=== {student}")
        for ch in chapters:
            mod = importlib.import_module(f"exercises.ch{ch:02d}")
            for ex in mod.exercises(student):
                print(f"{ex.label} ({ex.text('title')}): {ex.text('question')}\n"
                      f"    answer: {ex.answer!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
