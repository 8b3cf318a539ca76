"""The newcomer's first step: `make lab` starts a server that serves 00-start-here.

Started in the background exactly as the README says (`make lab`), with LAB_ARGS only for
what a test needs: no browser window, a free port, a random token (and --allow-root as root,
where jupyter refuses to start without it).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from lab_helpers import (
    CHAPTERS,
    CHROMIUM_ARGS,
    ROOT,
    ExplorerView,
    LabServer,
    browser_problem,
    collect_errors,
    find_chromium,
    free_port,
    lab_args,
    new_token,
    settle_widgets,
    shot,
    ui_issue,
)

START = "00-start-here.ipynb"


@pytest.fixture(scope="module")
def make_lab(tmp_path_factory):
    if shutil.which("make") is None:
        pytest.skip("`make` is not installed")
    if not (CHAPTERS / START).exists():
        pytest.skip(f"notebooks/{START} is not written yet")
    home = tmp_path_factory.mktemp("make-lab")
    port, token = free_port(), new_token()
    # The ip/port/token are all make lab needs to be reachable here; the notebook dir is the
    # Makefile's own (--notebook-dir=notebooks), which is what this test checks.
    # --allow-root is the Makefile's own business (it adds it as root), so not passed here
    args = " ".join(a for a in lab_args(port, token) if a != "--allow-root")
    server = LabServer(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], home, port,
                       token, cwd=ROOT)
    try:
        server.wait_ready(timeout=240)  # make may first (re)install kmemlab[lab] into .venv
        yield server
    finally:
        server.stop()


def test_make_lab_serves_start_here(make_lab):
    listing = json.loads(make_lab.get("/api/contents"))
    names = sorted(item["name"] for item in listing["content"])
    assert START in names, f"make lab serves {names}, not notebooks/"
    nb = json.loads(make_lab.get(f"/api/contents/{START}"))
    assert nb["type"] == "notebook" and nb["content"]["cells"], "00-start-here is empty"
    html = make_lab.get(f"/lab/tree/{START}").decode()
    assert "JupyterLab" in html
    kernels = json.loads(make_lab.get("/api/kernelspecs"))
    assert "python3" in kernels["kernelspecs"]
    # no "Jupyter news?" pop-up: make lab's environment changes the default (an overrides.d
    # file from kmemlab.labconfig), whatever the user's own settings say
    news = json.loads(make_lab.get(
        "/lab/api/settings/@jupyterlab/apputils-extension:notification"))
    assert news["schema"]["properties"]["fetchNews"]["default"] == "false"
    # and kernel messages leave the server at once (kmemlab.lab_server, enabled the same way)
    assert "kmemlab: kernel WebSockets send each message at once" in make_lab.log_tail(10**6)


def test_make_lab_start_here_renders(make_lab):
    """Open the page in the browser, as a newcomer would, and look at it."""
    problem = browser_problem()
    if problem:
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{make_lab.base}/lab/tree/{START}?token={make_lab.token}",
                      wait_until="commit")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.locator(".jp-MarkdownCell h1").first.wait_for()
            shot(page, "make-lab-00-start-here")
            # Before anything runs, the saved outputs must show (widgets from the notebook's
            # saved widget state), not "Error displaying widget" or a bare "Loading widget...".
            page.wait_for_timeout(1500)
            settle_widgets(page)
            found = collect_errors(page, log_console=False)
            found.pop("code cells not run (Run All stopped early?)", None)
            assert not found, f"00-start-here before running anything: {found}"
            reprs = page.locator(".jp-Notebook .jp-OutputArea-output").filter(
                has_text=re.compile(r"^\s*(VBox|HBox|Box)\(children="))
            if reprs.count():
                shot(page, "make-lab-00-saved-widget-as-text", reprs.first)
                ui_issue(f"00-start-here, before running: {reprs.count()} saved widget output(s) "
                         "show as Python text (VBox(children=...)), not as widgets: the notebook "
                         "is not trusted on a fresh machine: JupyterLab falls back to text/plain")
            saved = ExplorerView.outputs(page, "Buddy allocator explorer")
            if saved.count():
                ExplorerView(page, "Buddy allocator explorer").shot(
                    "make-lab-00-saved-explorer")
        finally:
            browser.close()
