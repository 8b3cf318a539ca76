"""The browser machinery against a plain-ipywidgets notebook (tests/e2e/notebooks/smoke.ipynb),
and proof that a broken widget callback makes an e2e check fail."""

from __future__ import annotations

import pytest
from lab_helpers import (
    ExplorerView,
    NotebookErrors,
    check_errors,
    collect_errors,
    img_srcs,
    open_notebook,
    run_all,
    shot,
    wait_changed,
)


def test_smoke_widgets_react(page, jupyter_server):
    open_notebook(page, jupyter_server, "e2e/smoke.ipynb")
    run_all(page)
    out = page.locator(".jp-Notebook .jp-OutputArea-output")
    out.filter(has_text="smoke: all cells ran").wait_for()
    why = page.locator(".widget-html").filter(has_text="why:")
    figure = page.locator(".widget-output").first
    why.filter(has_text="order-2 request = 4 pages from zone DMA32").wait_for()
    before = img_srcs(figure)
    assert len(before) == 1 and before[0].startswith("data:image/png")
    shot(page, "smoke-01-after-run-all")

    # slider by keyboard: 2 -> 4
    handle = page.locator(".widget-slider .noUi-handle")
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    why.filter(has_text="order-4 request = 16 pages").wait_for()
    assert page.locator(".widget-slider .widget-readout").inner_text() == "4"

    # button: the figure changes (one more block taken)
    page.click("button:text-is('Allocate')")
    wait_changed(page, lambda: img_srcs(figure), before, what="figure after Allocate")

    # dropdown: the why text names the new zone
    page.locator(".widget-dropdown select").select_option("Normal")
    why.filter(has_text="from zone Normal").wait_for()

    # oops panel
    page.click("button:text-is('Free twice')")
    page.locator(".widget-html pre.oops").filter(has_text="BUG: double free").wait_for()
    shot(page, "smoke-02-after-controls")
    shot(page, "smoke-03-widget", page.locator(".jp-Notebook .jp-Cell").nth(1))
    check_errors(page, page.js_errors)


def test_broken_callback_is_detected(page, jupyter_server):
    """A widget whose callbacks raise must make the e2e checks fail.

    In JupyterLab the traceback of a widget callback does not appear in the notebook at all
    (a user sees nothing happen); it goes to the Log Console. check_errors() reads it there.
    """
    open_notebook(page, jupyter_server, "e2e/broken_callback.ipynb")
    run_all(page)
    assert collect_errors(page, page.js_errors, log_console=False) == {}, \
        "nothing is broken before a control is touched"
    handle = page.locator(".widget-slider .noUi-handle")
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.locator(".widget-html").filter(has_text="size = 2").wait_for()
    page.click("button:text-is('Crash')")
    shot(page, "broken-callback")
    with pytest.raises(NotebookErrors) as caught:
        for _ in range(20):  # the tracebacks reach the Log Console asynchronously
            found = collect_errors(page, page.js_errors)
            logged = "\n".join(found.get("errors from widget callbacks (Log Console)", []))
            if "ZeroDivisionError" in logged and "callback exploded" in logged:
                break
            page.wait_for_timeout(250)
        check_errors(page, page.js_errors)
    report = str(caught.value)
    assert "errors from widget callbacks" in report
    assert "ZeroDivisionError: division by zero" in report
    assert "RuntimeError: callback exploded on purpose" in report


def test_broken_explorer_fails_the_chapter_check(page, jupyter_server):
    """The same driver the chapter tests use, on a real kmemlab explorer whose kmalloc button
    raises: the driver fails (nothing the user sees changes) and check_errors() names the
    exception."""
    from test_chapters import drive_kmalloc

    open_notebook(page, jupyter_server, "e2e/broken_explorer.ipynb")
    run_all(page)
    check_errors(page, page.js_errors, log_console=False)
    ex = ExplorerView(page, "kmalloc explorer")
    ex.timeout = 5_000
    with pytest.raises(AssertionError, match="kmalloc explorer"):
        drive_kmalloc(ex, "broken")
    with pytest.raises(NotebookErrors, match="deliberately broken kmalloc button"):
        for _ in range(20):
            if collect_errors(page, page.js_errors):
                break
            page.wait_for_timeout(250)
        check_errors(page, page.js_errors)
    shot(page, "broken-explorer")
