"""The ``kmemlab`` command.

Sub-commands live next to the code they drive; each module that adds one exposes
``register(subparsers)``, which adds its parser and sets ``func`` (returning the
exit code). Modules are imported lazily so ``kmemlab buddyinfo`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module path -> registers one or more sub-commands
_SUBCOMMAND_MODULES = (
    "kmemlab.cli_core",
    "kmemlab.trace_cli",
    "kmemlab.quiz.cli",
    "kmemlab.twin",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmemlab",
        description="A laboratory for Linux kernel memory allocation.",
    )
    # the program's own version; the sub-commands' --version picks a kernel profile
    from . import __version__
    parser.add_argument("--version", action="version", version=f"kmemlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that part is not built (yet); others still work
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["lab"]:  # the rest is Jupyter's, options included: not for argparse
        from .cli_core import lab_main
        return lab_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `kmemlab ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
