"""Fixtures for the browser tests: a private JupyterLab server and headless system Chromium.

Without a browser every test here SKIPS with a message that says how to get one.
"""

from __future__ import annotations

import shutil
import sys

import pytest
from lab_helpers import (
    CHAPTERS,
    CHROMIUM_ARGS,
    E2E_NOTEBOOKS,
    LabServer,
    browser_problem,
    find_chromium,
    free_port,
    lab_args,
    new_token,
    shot,
    shutdown_kernels,
    watch_page,
)


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def need_browser():
    problem = browser_problem()
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory, need_browser):
    """`jupyter lab` on a free localhost port, random token, private settings/workspaces/runtime.

    Serves a temporary copy of notebooks/ (the chapters) plus tests/e2e/notebooks/ under e2e/,
    so autosave never writes browser state into the repo. Module scope: see the recipe.
    """
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    if CHAPTERS.is_dir():
        shutil.copytree(CHAPTERS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    root.mkdir(exist_ok=True)
    shutil.copytree(E2E_NOTEBOOKS, root / "e2e")
    port, token = free_port(), new_token()
    server = LabServer([sys.executable, "-m", "jupyter", "lab", *lab_args(port, token, root)],
                       home, port, token, cwd=root)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(jupyter_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS,
                              headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.when == "call" and rep.failed:
        item.e2e_failed = True
    return rep


@pytest.fixture
def page(browser, jupyter_server, request):
    """A fresh browser context (= fresh profile) per test; JS errors collected on page.js_errors."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1600})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.js_errors = watch_page(pg)
    try:
        yield pg
        if getattr(request.node, "e2e_failed", False):
            shot(pg, f"FAILED-{request.node.name}")
    finally:
        ctx.close()
        shutdown_kernels(jupyter_server)
