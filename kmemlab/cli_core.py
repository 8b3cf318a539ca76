"""Core sub-commands of ``kmemlab``: buddyinfo, proc, boot, lab, notebooks."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from .profiles import DEFAULT_VERSION, versions


def _add_kernel_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", dest="kversion", default=DEFAULT_VERSION,
                   help=f"kernel version profile ({', '.join(versions())}; "
                        f"default {DEFAULT_VERSION})")
    p.add_argument("--arch", default="x86_64", help="x86_64 or i386 (default x86_64)")
    p.add_argument("--ram", default="1G", help="RAM size, memparse syntax (default 1G)")
    p.add_argument("--cpus", type=int, default=2, help="number of CPUs (default 2)")
    p.add_argument("--cmdline", default="", help="kernel command line, e.g. 'cma=64M'")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="a kernel .config (plain or .gz, e.g. /proc/config.gz); default: "
                        "the profile's distribution config")


def _boot(args):
    from .kernel import Kernel
    return Kernel(version=args.kversion, arch=args.arch, ram=args.ram, cpus=args.cpus,
                  cmdline=args.cmdline, config=args.config)


def _guard(fn):
    def run(args) -> int:
        try:
            return fn(args)
        except (ValueError, TypeError) as exc:
            print(f"kmemlab: {exc}", file=sys.stderr)
            return 2
    return run


@_guard
def _cmd_buddyinfo(args) -> int:
    sys.stdout.write(_boot(args).proc("buddyinfo"))
    return 0


@_guard
def _cmd_proc(args) -> int:
    try:
        text = _boot(args).proc(args.path)
    except FileNotFoundError as exc:   # the file a real kernel would not have: say so like cat
        print(f"kmemlab proc: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


@_guard
def _cmd_boot(args) -> int:
    from .kconfig import format_config
    k = _boot(args)
    print("\n".join(k.dmesg))
    print(f"# {k.profile.description}; the options kmemlab reads:")
    sys.stdout.write(format_config(k.config))
    return 0


@_guard
def _cmd_dmesg(args) -> int:
    print("\n".join(_boot(args).dmesg))
    return 0


LAB_USAGE = """usage: kmemlab lab [--notebooks DIR] [JUPYTER ARGS ...]

Start JupyterLab (the one installed next to this kmemlab) on the chapter notebooks.
Every argument but --notebooks is passed to `jupyter lab` unchanged, e.g.
  kmemlab lab --no-browser --port=8890
  kmemlab lab --notebooks ~/kmemlab-notebooks --ServerApp.ip=127.0.0.1
Without --notebooks: a source checkout serves its notebooks/; an installed kmemlab first
copies its chapters to ./kmemlab-notebooks (kept if already there) and serves that.
As root --allow-root is added (Jupyter refuses to start without it).
"""
DEFAULT_COPY = "kmemlab-notebooks"


def jupyter_lab_command() -> list[str] | None:
    """``jupyter lab`` of the environment this kmemlab runs in (not whatever is on PATH)."""
    import importlib.util

    bindir = os.path.dirname(sys.executable)  # a venv's bin/, symlinks not resolved
    for name in ("jupyter-lab", "jupyter-lab.exe"):
        exe = os.path.join(bindir, name)
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            return [exe]
    if importlib.util.find_spec("jupyterlab") is not None:
        return [sys.executable, "-m", "jupyterlab"]
    return None


def lab_argv(argv: list[str]) -> tuple[str | None, list[str]]:
    """Split ``kmemlab lab`` arguments into (--notebooks DIR, the rest for Jupyter)."""
    notebooks, rest = None, []
    i = 0
    if argv[:1] == ["--"]:  # `kmemlab lab -- --no-browser`: the separator is ours
        argv = argv[1:]
    while i < len(argv):
        a = argv[i]
        if a == "--notebooks":
            if i + 1 >= len(argv):
                raise ValueError("--notebooks needs a folder")
            notebooks = argv[i + 1]
            i += 2
            continue
        if a.startswith("--notebooks="):
            notebooks = a.split("=", 1)[1]
        else:
            rest.append(a)
        i += 1
    return notebooks, rest


def lab_main(argv: list[str]) -> int:
    """``kmemlab lab``: parsed by hand so that any Jupyter option passes through."""
    if argv[:1] in (["-h"], ["--help"]):
        print(LAB_USAGE, end="")
        return 0
    try:
        notebooks, rest = lab_argv(argv)
    except ValueError as exc:
        print(f"kmemlab lab: {exc}\n{LAB_USAGE}", file=sys.stderr, end="")
        return 2
    cmd = jupyter_lab_command()
    if cmd is None:
        print("kmemlab: JupyterLab is not installed next to this kmemlab "
              f"({sys.executable}); install kmemlab[lab] (pip install 'kmemlab[lab]') "
              "or run 'make lab'", file=sys.stderr)
        return 2
    from .chapters import chapters_dir, copy_chapters, is_source_tree

    if notebooks is None:
        try:
            shipped = chapters_dir()
        except FileNotFoundError as exc:
            print(f"kmemlab: {exc}; pass --notebooks DIR", file=sys.stderr)
            return 2
        if is_source_tree(shipped):
            notebooks = str(shipped)
        else:
            notebooks = os.path.abspath(DEFAULT_COPY)
            copied, _kept = copy_chapters(notebooks)
            if copied:
                print(f"kmemlab: copied the chapters to {notebooks}", file=sys.stderr)
    elif not os.path.isdir(notebooks):
        print(f"kmemlab: {notebooks}: no such folder (copy the chapters there with "
              f"'kmemlab notebooks {notebooks}')", file=sys.stderr)
        return 2
    try:
        from .labconfig import configure

        configure()  # no "Jupyter news?" pop-up over the first chapter, no message delay
    except OSError:
        pass  # a read-only environment: both stay as they are, nothing else changes
    cmd = [*cmd, f"--notebook-dir={notebooks}", *rest]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in rest:
        cmd.append("--allow-root")
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130


def _cmd_lab(args) -> int:  # reached only through build_parser(); main() calls lab_main
    return lab_main(list(args.lab_args or []) +
                    (["--notebooks", args.notebooks] if args.notebooks else []))


def _cmd_notebooks(args) -> int:
    from .chapters import copy_chapters

    try:
        copied, kept = copy_chapters(args.dir, overwrite=args.force)
    except (OSError, ValueError) as exc:
        print(f"kmemlab notebooks: {exc}", file=sys.stderr)
        return 2
    print(f"{args.dir}: {len(copied)} files copied"
          + (f", {len(kept)} already there kept (--force replaces them)" if kept else ""))
    print(f"start with: kmemlab lab --notebooks {args.dir}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("buddyinfo", help="boot a simulated kernel and print /proc/buddyinfo")
    _add_kernel_args(p)
    p.set_defaults(func=_cmd_buddyinfo)
    p = sub.add_parser("proc", help="print a /proc file of a freshly booted simulated kernel")
    p.add_argument("path", help="e.g. zoneinfo, pagetypeinfo, meminfo, slabinfo")
    _add_kernel_args(p)
    p.set_defaults(func=_cmd_proc)
    p = sub.add_parser("boot", help="boot a simulated kernel: its boot log and resolved "
                                    "config options")
    _add_kernel_args(p)
    p.set_defaults(func=_cmd_boot)
    p = sub.add_parser("dmesg", help="print the boot log of a simulated kernel")
    _add_kernel_args(p)
    p.set_defaults(func=_cmd_dmesg)
    p = sub.add_parser("lab", help="start JupyterLab on the chapter notebooks "
                       "(kmemlab lab [--notebooks DIR] [JUPYTER ARGS...])", add_help=False)
    p.add_argument("--notebooks", default=None, help="notebook folder")
    p.add_argument("lab_args", nargs=argparse.REMAINDER, help="arguments for jupyter lab")
    p.set_defaults(func=_cmd_lab)
    p = sub.add_parser("notebooks", help="copy the chapter notebooks into a folder")
    p.add_argument("dir", metavar="DIR", help="where to put them (created if needed)")
    p.add_argument("--force", action="store_true", help="replace files already there")
    p.set_defaults(func=_cmd_notebooks)
