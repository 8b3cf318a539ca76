"""``kmemlab quiz check|seal|export|grade``.

Exit codes: 0 success; 1 the input has problems (invalid quiz, an answer that cannot
be computed, a responses file that cannot be graded or whose submission history is
flagged by ``grade``); 2 the command could not run
(missing file, bad arguments, a needed package not installed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import QuizError, QuizErrors

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("quiz", help="check, seal, export and grade instructor quizzes",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="quiz_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), EXIT_USAGE)[1])

    c = sub.add_parser("check", help="validate quiz files; compute every answer for N seeds")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--seeds", type=int, default=20, help="students to simulate (default 20)")
    c.add_argument("-v", "--verbose", action="store_true",
                   help="print each simulator question's first variants and answers")
    c.set_defaults(func=_check)

    s = sub.add_parser("seal", help="write a copy whose static answers are salted hashes")
    s.add_argument("file", metavar="FILE")
    s.add_argument("-o", "--output", required=True, metavar="OUT")
    s.add_argument("--salt", help="hex salt (default: random) for reproducible output")
    s.add_argument("--iterations", type=int, default=20_000, help="PBKDF2 iterations")
    s.add_argument("--keep-regex", action="store_true",
                   help="leave regex answers readable instead of refusing to seal them")
    s.set_defaults(func=_seal)

    e = sub.add_parser("export", help="jupyterquiz JSON or an nbgrader source notebook")
    e.add_argument("file", metavar="FILE")
    e.add_argument("--to", required=True, choices=["jupyterquiz", "nbgrader"])
    e.add_argument("-o", "--output", metavar="OUT", help="default: stdout")
    e.add_argument("--student", default="",
                   help="nbgrader: fix this student's variant for everyone (default: each "
                        "student gets their own, from the JupyterHub user / nbgrader's "
                        "student id); jupyterquiz: whose variant the static JSON holds")
    e.set_defaults(func=_export)

    r = sub.add_parser("reference", help="print the answer-expression language's reference "
                       "(docs/quiz-language.md)")
    r.add_argument("-o", "--output", metavar="OUT", help="default: stdout")
    r.set_defaults(func=_reference)

    g = sub.add_parser("grade", help="grade responses JSON files into a CSV")
    g.add_argument("responses", nargs="+", metavar="RESPONSES")
    g.add_argument("--quiz", required=True, metavar="FILE", help="the quiz (sealed or not)")
    g.add_argument("--csv", required=True, metavar="OUT", help="CSV file ('-' for stdout)")
    g.set_defaults(func=_grade)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _load(path: str):
    """(quiz, exit code): exit code is set when the quiz could not be loaded."""
    from .model import Quiz

    if not Path(path).is_file():
        _err(f"{path}: no such file")
        return None, EXIT_USAGE
    try:
        return Quiz.load(path), EXIT_OK
    except QuizErrors as exc:
        for e in exc.errors:
            _err(f"{e}")
        return None, EXIT_INVALID
    except ModuleNotFoundError as exc:
        _err(f"kmemlab quiz needs {exc.name}: pip install 'kmemlab[quiz]'")
        return None, EXIT_USAGE
    except (OSError, RecursionError, MemoryError, ValueError, OverflowError) as exc:
        # a hostile file the loader's own checks did not name: one line, no traceback
        _err(f"{path}: cannot read this file: {type(exc).__name__}: "
             f"{' '.join(str(exc).split())[:200]}")
        return None, EXIT_USAGE


def _check(args) -> int:
    worst = EXIT_OK
    for path in args.files:
        quiz, code = _load(path)
        if quiz is None:
            worst = max(worst, code)
            continue
        errors = quiz.check_answers(args.seeds)
        for e in errors:
            _err(str(e))
        if errors:
            worst = max(worst, EXIT_INVALID)
            continue
        nsim = sum(q.type == "simulator" for q in quiz.questions)
        print(f"{path}: ok: {len(quiz.questions)} questions ({nsim} simulator-backed, "
              f"answers computed for {args.seeds} students), {quiz.max_points:g} points"
              + (", sealed" if quiz.sealed else ""))
        if args.verbose:
            _show_variants(quiz, min(args.seeds, 3))
    return worst


def _show_variants(quiz, n: int) -> None:
    from .model import describe_expected

    functions = quiz.functions()
    for i in range(n):
        for v in quiz.variant(f"seed-{i}", functions):
            if v.question.type == "simulator":
                print(f"  seed-{i} {v.question.id}: {v.prompt.strip()[:70]} -> "
                      f"{describe_expected(v.question, v, functions)}")


def _seal(args) -> int:
    from .sealer import dump_yaml, seal_quiz

    quiz, code = _load(args.file)
    if quiz is None:
        return code
    try:
        data, warnings = seal_quiz(quiz, salt=args.salt, iterations=args.iterations,
                                   keep_regex=args.keep_regex)
    except QuizError as exc:
        _err(str(exc))
        return EXIT_INVALID
    for w in warnings:
        _err(f"warning: {w}")
    Path(args.output).write_text(
        f"# Sealed from {Path(args.file).name} by `kmemlab quiz seal`: static answers are "
        "salted hashes.\n" + dump_yaml(data), encoding="utf-8")
    print(f"{args.output}: sealed {sum('sealed' in q for q in data['questions'])} of "
          f"{len(data['questions'])} questions")
    return EXIT_OK


def _export(args) -> int:
    quiz, code = _load(args.file)
    if quiz is None:
        return code
    try:
        if args.to == "jupyterquiz":
            from .export import to_jupyterquiz

            questions, warnings = to_jupyterquiz(quiz, args.student)
            if any(q.type == "simulator" for q in quiz.questions):
                warnings.append("jupyterquiz JSON is static: every student gets the variant "
                                f"of {args.student or 'an empty student id'!r}; per-student "
                                "variants need km.quiz.show or --to nbgrader")
            text = json.dumps(questions, indent=2, ensure_ascii=False) + "\n"
        else:
            try:
                import nbformat
            except ModuleNotFoundError:
                _err("exporting to nbgrader needs nbformat: pip install nbformat")
                return EXIT_USAGE
            from .export import to_nbgrader

            text = nbformat.writes(to_nbgrader(quiz, args.student))
            warnings = []
    except QuizError as exc:
        _err(str(exc))
        return EXIT_INVALID
    for w in warnings:
        _err(f"warning: {w}")
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _reference(args) -> int:
    from .reference import render

    text = render()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _grade(args) -> int:
    from .grade import grade_files

    quiz, code = _load(args.quiz)
    if quiz is None:
        return code
    missing = [p for p in args.responses if not Path(p).is_file()]
    if missing:
        for p in missing:
            _err(f"{p}: no such file")
        return EXIT_USAGE
    if args.csv == "-":
        n, problems = grade_files(quiz, args.responses, sys.stdout)
    else:
        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            n, problems = grade_files(quiz, args.responses, out)
    for p in problems:
        _err(p)
    if args.csv != "-":
        print(f"{args.csv}: {n} of {len(args.responses)} responses graded")
    return EXIT_INVALID if any(not p.startswith("warning:") for p in problems) else EXIT_OK
