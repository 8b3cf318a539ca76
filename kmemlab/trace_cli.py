"""``kmemlab trace ...``: read a real kernel's kmem trace from the command line.

``kmemlab trace stats FILE`` works like ``perf kmem stat`` (tools/perf/builtin-kmem.c)
on the text of ``/sys/kernel/tracing/trace`` or of ``trace-cmd report``. Everything is
computed before anything is printed, so a bad file writes nothing to stdout; it exits
with status 2 and a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from typing import Any

from kmemlab import traceparse as tp
from kmemlab.profiles import DEFAULT_VERSION

_EPILOG = """\
record a trace (as root):
  echo 1 > /sys/kernel/tracing/events/kmem/enable; sleep 5
  cat /sys/kernel/tracing/trace > kmem.txt; echo 0 > /sys/kernel/tracing/events/kmem/enable
or: trace-cmd record -e kmem sleep 5 && trace-cmd report > kmem.txt
"""


def register(subparsers: Any) -> None:
    """Add ``trace`` and its sub-command ``stats`` (options after ``perf kmem stat``)."""
    trace = subparsers.add_parser(
        "trace", help="read a real kernel's kmem:* ftrace output",
        description="Read kmem:* events recorded on a real machine.")
    trace.set_defaults(func=lambda args: _no_subcommand(trace))
    sub = trace.add_subparsers(dest="trace_command", metavar="SUBCOMMAND")
    st = sub.add_parser(
        "stats", help="slab and page allocator statistics (like perf kmem stat)",
        description="Statistics of a kmem trace, after tools/perf/builtin-kmem.c\n"
                    "(perf kmem stat). Input: the text of /sys/kernel/tracing/trace or of\n"
                    "trace-cmd report, optionally gzip-compressed; '-' reads stdin.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    st.add_argument("file", metavar="FILE", help="trace text file (or - for stdin)")
    st.add_argument("-s", "--sort", metavar="KEYS",
                    help="sort keys, comma separated: slab ptr,callsite,hit,bytes,frag,"
                         "pingpong (default frag,hit,bytes); page page,hit,bytes,order,"
                         "migtype,gfp (default bytes,hit)")
    st.add_argument("-l", "--lines", type=int, metavar="N", default=None,
                    help="show only the first N rows of each table (default: all)")
    st.add_argument("--json", action="store_true", help="print JSON instead of tables")
    st.add_argument("--caller", action="store_true", help="show per-callsite statistics")
    st.add_argument("--alloc", action="store_true",
                    help="show per-allocation (pointer / pfn) statistics")
    st.add_argument("--slab", action="store_true", help="analyze the slab allocator")
    st.add_argument("--page", action="store_true", help="analyze the page allocator")
    st.add_argument("--page-size", type=int, default=4096, metavar="BYTES",
                    help="page size of the traced machine (default 4096)")
    prog = st.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_const", const=True,
                      default=None, help="always show a progress bar (needs tqdm)")
    prog.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                      help="never show a progress bar")
    st.set_defaults(func=cmd_stats)
    rp = sub.add_parser(
        "replay", help="replay a trace through a simulated kernel",
        description="Feed the allocations and frees of a kmem trace into a simulated\n"
                    "kernel (real pointers and pfns mapped to simulated objects) and\n"
                    "print what happened. Input as for 'trace stats'.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    rp.add_argument("file", metavar="FILE", help="trace text file (or - for stdin)")
    rp.add_argument("--version", default=DEFAULT_VERSION,
                    help=f"kernel profile (default {DEFAULT_VERSION})")
    rp.add_argument("--arch", default="x86_64", help="architecture (default x86_64)")
    rp.add_argument("--ram", default="1G", help="simulated RAM (default 1G)")
    rp.add_argument("--cpus", type=int, default=2, help="simulated CPUs (default 2)")
    rp.add_argument("--no-slab", dest="slab", action="store_false",
                    help="do not replay kmalloc/kmem_cache_* events")
    rp.add_argument("--no-pages", dest="pages", action="store_false",
                    help="do not replay mm_page_alloc/mm_page_free events")
    rp.add_argument("--show", metavar="FILES", default="",
                    help="comma-separated /proc files of the simulated kernel to print "
                         "after the replay, e.g. buddyinfo,slabinfo")
    rp.add_argument("--json", action="store_true", help="print the counters as JSON")
    rprog = rp.add_mutually_exclusive_group()
    rprog.add_argument("--progress", dest="progress", action="store_const", const=True,
                       default=None, help="always show a progress bar (needs tqdm)")
    rprog.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                       help="never show a progress bar")
    rp.set_defaults(func=cmd_replay)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _fail(msg: str) -> int:
    print(f"kmemlab trace stats: error: {msg}", file=sys.stderr)
    return 2


def cmd_stats(args: argparse.Namespace) -> int:
    """Run ``kmemlab trace stats`` (builtin-kmem.c: cmd_kmem "stat"); returns the exit code."""
    if args.sort:
        keys = [k.strip() for k in args.sort.split(",") if k.strip()]
        allowed = set(tp.SLAB_SORT_KEYS) | set(tp.PAGE_SORT_KEYS)
        bad = [k for k in keys if k not in allowed]
        if bad or not keys:
            return _fail(f"unknown sort key {bad[0] if bad else args.sort!r}: use "
                         f"{', '.join(sorted(allowed))}")
    if args.page_size <= 0 or args.page_size & (args.page_size - 1):
        return _fail(f"--page-size {args.page_size} is not a power of two")
    slab = args.slab or not args.page
    page = args.page or not args.slab
    source: Any = sys.stdin.buffer if args.file == "-" else args.file
    try:
        stats = tp.trace_stats(source, page_size=args.page_size,
                               per_pointer=args.alloc, progress=args.progress)
        if args.json:
            data = stats.to_dict(
                lines=args.lines,
                slab_sort=args.sort if tp.sort_keys_valid(args.sort, tp.SLAB_SORT_KEYS) else None,
                page_sort=args.sort if tp.sort_keys_valid(args.sort, tp.PAGE_SORT_KEYS) else None)
            if not slab:
                data.pop("slab")
            if not page:
                data.pop("page")
            text = json.dumps(data, indent=2) + "\n"
        else:
            text = stats.report(caller=args.caller, alloc=args.alloc, slab=slab, page=page,
                                sort=args.sort, lines=args.lines)
    except tp.TraceFormatError as exc:
        return _fail(str(exc))
    except ValueError as exc:  # a sort key valid for neither table
        return _fail(str(exc))
    rep = stats.parse_report
    if rep is not None:
        if rep.records == 0:
            print(f"kmemlab trace stats: warning: no kmem events in {rep.source}; were they "
                  "enabled (echo 1 > /sys/kernel/tracing/events/kmem/enable)?",
                  file=sys.stderr)
        if rep.malformed_count:
            first = rep.malformed[0]
            print(f"kmemlab trace stats: warning: skipped {rep.malformed_count} malformed "
                  f"line(s), first at line {first[0]}: {first[1][:80]!r}", file=sys.stderr)
        if rep.lost_events:
            print(f"kmemlab trace stats: warning: the kernel lost {rep.lost_events} events "
                  "(ring buffer overrun); counts are incomplete", file=sys.stderr)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Run ``kmemlab trace replay``; everything is computed before anything is printed."""
    from kmemlab.replay import Replayer

    def fail(msg: str) -> int:
        print(f"kmemlab trace replay: error: {msg}", file=sys.stderr)
        return 2

    shows = [s.strip() for s in args.show.split(",") if s.strip()]
    source: Any = sys.stdin.buffer if args.file == "-" else args.file
    try:
        from kmemlab.kernel import Kernel
        kernel = Kernel(version=args.version, arch=args.arch, ram=args.ram, cpus=args.cpus)
    except (ValueError, TypeError) as exc:
        return fail(str(exc))
    gc_was_enabled = gc.isenabled()
    try:
        r = Replayer(source, kernel, slab=args.slab, pages=args.pages, keep_trace=False,
                     progress=args.progress)
        # The cyclic GC's full collections walk every object the simulated kernel
        # holds (one per live object and page), several times over a long trace, and
        # find nothing: the replay makes no cyclic garbage. The young generations
        # are collected between steps instead (what a cycle made there would need).
        gc.disable()
        while r.step(1 << 18):
            gc.collect(1)
        r.run()
        parts = [json.dumps(r.counters(), indent=2) + "\n" if args.json
                 else r.summary() + "\n"]
        for name in shows:
            parts.append(f"\n/proc/{name} of the simulated kernel:\n" + kernel.proc(name))
    except tp.TraceFormatError as exc:
        return fail(str(exc))
    except (ValueError, KeyError) as exc:  # an unknown /proc file
        return fail(str(exc))
    finally:
        if gc_was_enabled:
            gc.enable()
    sys.stdout.write("".join(parts))
    sys.stdout.flush()
    return 0
