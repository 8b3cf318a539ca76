#!/usr/bin/env python3
"""How long every code cell of the chapters takes, each chapter in a fresh kernel.

    .venv-test/bin/python tools/cell_times.py                     # notebooks/0*.ipynb
    .venv-test/bin/python tools/cell_times.py notebooks/zh/0*.ipynb
    .venv-test/bin/python tools/cell_times.py --over 0.5          # only the slow cells
    .venv-test/bin/python tools/cell_times.py --profile 0.3       # + where their time goes
    .venv-test/bin/python tools/cell_times.py --json times.json   # machine-readable too
    .venv-test/bin/python tools/cell_times.py --browser --repeat 3  # Run All in Chromium

Each notebook runs as Run All would, top to bottom in a new ipykernel started by nbclient
(the ``python3`` kernel of the interpreter running this tool), in a temporary copy of its
folder so that nothing (quiz responses, saved files) is written next to the repository's
chapters. A hook registered in the kernel before the first cell (IPython's
``pre_run_cell``/``post_run_cell`` events) times each cell with ``time.perf_counter``: the
kernel's own work for the cell, display and widget messages included, not the browser's
rendering. ``--profile S`` also runs each cell under cProfile and prints, for the cells
slower than S seconds, the functions with the largest cumulative time.

The kernel inherits this process's environment: with ``PYTHONDONTWRITEBYTECODE=1`` (set on
the project's shared machine) no ``.pyc`` is ever written for the editable kmemlab, so every
new kernel compiles the modules it imports from source, and the first cell that imports a
part of kmemlab (``import kmemlab``, the first ``km.plot``/``km.widgets``/``km.quiz``) pays
for that; a student's installation compiles once.

Prints one row per code cell: chapter, cell (0-based index among the code cells), seconds
(wall clock), cpu (the kernel process's CPU time, less disturbed by other load on a shared
machine), first line; then each chapter's sums and the slowest cell. ``--repeat N`` runs
each chapter N times, each in a new kernel, and prints the medians.

``--browser`` instead times Run All in a real browser, as a student sees it: JupyterLab and
headless system Chromium driven by Playwright, with the helpers of the browser tests
(tests/e2e/lab_helpers.py, README there). Each chapter is opened in a fresh kernel (waited
for until idle, not counted), then Run > Run All Cells; the clock stops when no cell is
queued or running, the kernel is idle and no widget still says "Loading widget...". With
``--repeat N`` each chapter is timed N times (new kernel each time); prints each figure and
the median.
"""

from __future__ import annotations

import argparse
import glob
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in the kernel before the chapter's first cell (it is not one of the chapter's cells).
_HOOK = r"""
def __kmemlab_cell_times():
    import time, cProfile, io, pstats
    ip = get_ipython()
    rows, state = [], {}
    profile = %(profile)r

    def pre(info):
        state["p"] = cProfile.Profile() if profile is not None else None
        state["c"] = time.process_time()
        state["t"] = time.perf_counter()
        if state["p"] is not None:
            state["p"].enable()

    def post(result):
        if "t" not in state:        # this cell, which registered the hooks
            return
        t = time.perf_counter() - state.pop("t")
        c = time.process_time() - state.pop("c")
        text = None
        if state["p"] is not None:
            state["p"].disable()
            if t >= profile:
                s = io.StringIO()
                st = pstats.Stats(state["p"], stream=s)
                st.sort_stats("cumulative").print_stats(%(top)d)
                text = s.getvalue()
        rows.append({"seconds": t, "cpu": c, "ok": result.success, "profile": text})

    ip.events.register("pre_run_cell", pre)
    ip.events.register("post_run_cell", post)
    return rows

__kmemlab_cell_rows = __kmemlab_cell_times()
"""

_DUMP = "import json as __j; open(%r, 'w').write(__j.dumps(__kmemlab_cell_rows))"


def time_notebook(path: Path, *, profile: float | None = None, top: int = 25,
                  timeout: int = 600, kernel: str = "python3") -> dict:
    """Run ``path`` in a fresh kernel; returns {"cells": [...], "wall": seconds}."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    chapters = (ROOT / "notebooks").resolve()
    # the chapters' folder as a whole: notebooks/zh/ reads ../exercises, ../data too
    folder = chapters if path.is_relative_to(chapters) else path.parent
    with tempfile.TemporaryDirectory(prefix="cell-times-") as tmp:
        shutil.copytree(folder, Path(tmp) / "nb", ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "__pycache__"))
        work = Path(tmp) / "nb" / path.parent.relative_to(folder)
        out = Path(tmp) / "rows.json"
        run = nbformat.v4.new_notebook(metadata=nb.metadata)
        run.cells = ([nbformat.v4.new_code_cell(_HOOK % {"profile": profile, "top": top})]
                     + [nbformat.v4.new_code_cell(c.source) for c in code]
                     + [nbformat.v4.new_code_cell(_DUMP % str(out))])
        client = NotebookClient(run, timeout=timeout, kernel_name=kernel, allow_errors=True,
                                resources={"metadata": {"path": str(work)}},
                                # not the "running over TCP without encryption" warning
                                extra_arguments=["--IPKernelApp.log_level=ERROR"])
        t0 = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - t0
        rows = json.loads(out.read_text())
    for row, cell, ran in zip(rows, code, run.cells[1:-1]):
        row["first_line"] = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        errors = [o for o in ran.outputs if o.output_type == "error"]
        if errors:
            row["ok"] = False
            row["error"] = f"{errors[0].ename}: {errors[0].evalue}"
    return {"cells": rows, "wall": wall}


def time_browser(paths: list[Path], repeat: int = 1) -> dict:
    """Run All of each notebook in JupyterLab + Chromium; {path: [seconds, ...]}."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    import lab_helpers as lh
    from playwright.sync_api import sync_playwright

    problem = lh.browser_problem()
    if problem:
        raise SystemExit(problem)
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="cell-times-lab-") as tmp:
        home = Path(tmp)
        root = home / "root"
        shutil.copytree(ROOT / "notebooks", root,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        port, token = lh.free_port(), lh.new_token()
        server = lh.LabServer([sys.executable, "-m", "jupyter", "lab",
                               *lh.lab_args(port, token, root)], home, port, token, cwd=root)
        try:
            server.wait_ready()
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=lh.find_chromium(),
                                             args=lh.CHROMIUM_ARGS, headless=True)
                try:
                    for path in paths:
                        rel = path.resolve().relative_to((ROOT / "notebooks").resolve())
                        for _ in range(repeat):
                            ctx = browser.new_context(viewport={"width": 1280, "height": 1600})
                            page = ctx.new_page()
                            page.set_default_timeout(60_000)
                            try:
                                lh.open_notebook(page, server, rel.as_posix())
                                page.wait_for_timeout(500)   # let the page settle
                                t0 = time.perf_counter()
                                lh.run_all(page, timeout=300_000)
                                out.setdefault(str(path), []).append(time.perf_counter() - t0)
                            finally:
                                ctx.close()
                                lh.shutdown_kernels(server)
                        times = out[str(path)]
                        print(f"{rel.as_posix():<40} Run All {_median(times):6.2f} s  "
                              f"({', '.join(f'{t:.2f}' for t in times)})")
                        sys.stdout.flush()
                finally:
                    browser.close()
        finally:
            server.stop()
    return out


def _combine(runs: list[dict]) -> dict:
    """Per cell the median over ``runs`` of each figure (one run: itself)."""
    out = {"wall": _median([r["wall"] for r in runs]), "cells": [], "runs": len(runs)}
    for rows in zip(*(r["cells"] for r in runs)):
        row = dict(rows[0])
        row["seconds"] = _median([r["seconds"] for r in rows])
        row["cpu"] = _median([r["cpu"] for r in rows])
        row["ok"] = all(r["ok"] for r in rows)
        row["profile"] = max(rows, key=lambda r: r["seconds"]).get("profile")
        if len(rows) > 1:
            row["all_seconds"] = [r["seconds"] for r in rows]
        out["cells"].append(row)
    return out


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="default: notebooks/0*.ipynb")
    ap.add_argument("--over", type=float, default=0.0,
                    help="print only cells taking at least this many seconds")
    ap.add_argument("--profile", type=float, default=None, metavar="S",
                    help="cProfile every cell; print the profile of those over S seconds")
    ap.add_argument("--top", type=int, default=25, help="functions per profile (25)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--kernel", default="python3", help="kernel name (python3)")
    ap.add_argument("--width", type=int, default=70, help="first-line column width")
    ap.add_argument("--browser", action="store_true",
                    help="time Run All in JupyterLab + headless Chromium instead")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per chapter (each in a new kernel); the median is printed")
    args = ap.parse_args(argv)

    paths = [Path(p) for pat in (args.notebooks or [str(ROOT / "notebooks" / "0*.ipynb")])
             for p in sorted(glob.glob(pat))]
    if not paths:
        ap.error("no notebooks")
    if args.browser:
        res = time_browser(paths, args.repeat)
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=1))
        return 0
    results = {}
    print(f"{'chapter':<32} {'cell':>4} {'seconds':>8} {'cpu':>7}  first line")
    for path in paths:
        runs = [time_notebook(path.resolve(), profile=args.profile, top=args.top,
                              kernel=args.kernel) for _ in range(max(args.repeat, 1))]
        res = _combine(runs)
        results[str(path)] = res
        name = path.stem if path.parent.name != "zh" else f"zh/{path.stem}"
        for i, row in enumerate(res["cells"]):
            if row["seconds"] < args.over:
                continue
            flag = "" if row["ok"] else "  !! " + row.get("error", "failed")
            print(f"{name:<32} {i:>4} {row['seconds']:>8.3f} {row['cpu']:>7.3f}  "
                  f"{row['first_line'][:args.width]}{flag}")
        cells = res["cells"]
        slow = max(range(len(cells)), key=lambda i: cells[i]["seconds"])
        print(f"{name:<32} {'sum':>4} {sum(c['seconds'] for c in cells):>8.3f} "
              f"{sum(c['cpu'] for c in cells):>7.3f}  (wall {res['wall']:.1f} s with kernel "
              f"start; slowest: cell {slow}, {cells[slow]['seconds']:.3f} s)")
        sys.stdout.flush()
    if args.profile is not None:
        for path, res in results.items():
            for i, row in enumerate(res["cells"]):
                if row.get("profile"):
                    print(f"\n=== {Path(path).stem} cell {i} ({row['seconds']:.3f} s): "
                          f"{row['first_line'][:args.width]}")
                    print(row["profile"])
    if args.json:
        Path(args.json).write_text(json.dumps(
            {p: {"wall": r["wall"], "cells": [{k: v for k, v in c.items() if k != "profile"}
                                              for c in r["cells"]]}
             for p, r in results.items()}, indent=1))
    failed = [(p, i) for p, r in results.items() for i, c in enumerate(r["cells"]) if not c["ok"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
