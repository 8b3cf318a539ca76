"""Core sub-commands of ``kmemlab``: buddyinfo, proc, boot, lab."""

from __future__ import annotations

import argparse
import os
import shutil
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
    sys.stdout.write(_boot(args).proc(args.path))
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


def _cmd_lab(args) -> int:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    notebooks = args.notebooks or os.path.join(here, "notebooks")
    jupyter = shutil.which("jupyter") or os.path.join(os.path.dirname(sys.executable), "jupyter")
    if not os.path.exists(jupyter):
        print("kmemlab: JupyterLab is not installed; install kmemlab[lab] "
              "(pip install 'kmemlab[lab]') or run 'make lab'", file=sys.stderr)
        return 2
    cmd = [jupyter, "lab", f"--notebook-dir={notebooks}"] + list(args.lab_args)
    return subprocess.call(cmd)


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
    p = sub.add_parser("lab", help="start JupyterLab on the chapter notebooks")
    p.add_argument("--notebooks", default=None, help="notebook folder (default: notebooks/)")
    p.add_argument("lab_args", nargs=argparse.REMAINDER, help="extra arguments for jupyter lab")
    p.set_defaults(func=_cmd_lab)
