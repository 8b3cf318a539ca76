"""Helpers for the browser tests: start/stop JupyterLab, drive a notebook, spot errors.

Debian's Chromium (/usr/bin/chromium) driven by Playwright against JupyterLab on
localhost; never `playwright install`. Selectors are JupyterLab 4 / ipywidgets 8.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ROOT / "notebooks"
E2E_NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
SHOTS = ROOT / "test-output" / "e2e"

# Flags from the machine's tested recipe. Playwright adds --headless itself; we pass it too.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
HOW_TO_GET_A_BROWSER = (
    "install the system's Chromium: `apt-get install chromium` as root (`bash .ci/run` does it "
    "when it can), or point CHROMIUM=/path/to/chromium at one; plus `pip install -e '.[test]'` "
    "for playwright. Never `playwright install`: it downloads a browser."
)
# User settings: no "Jupyter news?" toast; windowingMode none keeps every cell in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
IDLE = re.compile(r"\(ipykernel\) \| Idle")


def find_chromium() -> str | None:
    """The system's Chromium (never a downloaded one), or None."""
    if os.environ.get("CHROMIUM"):  # an explicit choice: that one or none
        return shutil.which(os.environ["CHROMIUM"])
    for cand in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        if path := shutil.which(cand):
            return path
    return None


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: " + HOW_TO_GET_A_BROWSER
    if find_chromium() is None:
        return "no Chromium found: " + HOW_TO_GET_A_BROWSER
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(home: Path) -> dict:
    """Environment with Jupyter's config/data/runtime/settings/workspaces under *home*."""
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "cfg"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "rt"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "ws"), ("IPYTHONDIR", "ipython")):
        env[var] = str(home / sub)
        (home / sub).mkdir(parents=True, exist_ok=True)
    for name, content in LAB_SETTINGS.items():
        f = home / "settings" / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(content))
    env.pop("JUPYTER_TOKEN", None)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


class LabServer:
    """A `jupyter lab` (or `make lab`) process in its own process group, stopped by stop()."""

    def __init__(self, cmd: list[str], home: Path, port: int, token: str, cwd: Path | None = None):
        self.home, self.port, self.token = home, port, token
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = home / "jupyter.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=isolated_env(home), stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def log_tail(self, n: int = 3000) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def get(self, path: str, timeout: float = 5) -> bytes:
        sep = "&" if "?" in path else "?"
        url = f"{self.base}{path}{sep}token={self.token}"
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.get("/api/status", timeout=2)
                return
            except (OSError, urllib.error.URLError):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"jupyter exited with {self.proc.returncode}:\n"
                                       + self.log_tail()) from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter did not answer in {timeout:.0f} s:\n"
                                       + self.log_tail()) from None
                time.sleep(0.25)

    def stop(self) -> None:
        """Stop the server and everything it started (kernels, `make`'s child)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        else:  # the leader is gone; its group may still hold kernels
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.close()


def lab_args(port: int, token: str, root_dir: Path | None = None) -> list[str]:
    args = ["--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            "--LabApp.news_url=None", "--ServerApp.open_browser=False"]
    if root_dir is not None:
        args.append(f"--ServerApp.root_dir={root_dir}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # jupyter refuses to start as root without it
    return args


def new_token() -> str:
    return secrets.token_hex(16)


# --------------------------------------------------------------------------- browser side

class NotebookErrors(AssertionError):
    """What a user would see as broken: tracebacks in outputs, failed widgets, callback errors."""


def open_notebook(page, server: LabServer, name: str) -> None:
    """Open *name* in JupyterLab and wait until its kernel is connected and idle."""
    # A workspace of its own per visit: the default one would reopen earlier tests' tabs.
    ws = "e2e-" + secrets.token_hex(4)
    page.goto(f"{server.base}/lab/workspaces/{ws}/tree/{name}?token={server.token}&reset",
              wait_until="commit")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    wait_idle(page, timeout=60_000)


def wait_idle(page, timeout: float = 60_000) -> None:
    page.locator(".jp-StatusBar-TextItem").filter(has_text=IDLE).wait_for(timeout=timeout)


def menu(page, top: str, item: str) -> None:
    page.click(f'#jp-MainMenu .lm-MenuBar-itemLabel:text-is("{top}")')
    page.click(f'.lm-Menu .lm-Menu-itemLabel:text-is("{item}")')


def run_all(page, timeout: float = 120_000) -> None:
    """Run > Run All Cells, then wait until no cell is queued or running and the kernel is idle.

    Run All stops at a cell that raises; the rest stay unexecuted. check_errors() reports it.
    """
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            if (prompts.some(p => p.textContent.includes('*'))) return false;
            return prompts.length > 0 && prompts.some(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=timeout, polling=200,
    )
    wait_idle(page, timeout=timeout)
    settle_widgets(page)


def settle_widgets(page, timeout: float = 30_000) -> None:
    """Wait until no widget view is still 'Loading widget...'."""
    page.wait_for_function(
        """() => ![...document.querySelectorAll('.jp-OutputArea-output')]
                  .some(o => /^\\s*Loading widget\\.\\.\\.\\s*$/.test(o.textContent))""",
        timeout=timeout, polling=200,
    )


def watch_page(page) -> dict:
    """Collect JavaScript errors of *page* (uncaught exceptions and console.error)."""
    seen = {"pageerror": [], "console": []}
    page.on("pageerror", lambda exc: seen["pageerror"].append(str(exc)))
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
    return seen


_WIDGET_FAILURE = re.compile(
    r"Error displaying widget|Failed to load model class|Error rendering|"
    r"model not found|Could not create a view|Loading widget\.\.\.\s*$")


def log_console_entries(page) -> list[str]:
    """Text of the Log Console (where JupyterLab sends output of widget callbacks)."""
    if page.locator(".jp-LogConsole").count() == 0:
        menu(page, "View", "Show Log Console")
        page.wait_for_selector(".jp-LogConsole")
    page.wait_for_timeout(300)
    return [t for t in page.locator(".jp-LogConsole .jp-OutputArea-output").all_inner_texts()
            if t.strip()]


def collect_errors(page, js: dict | None = None, *, log_console: bool = True) -> dict:
    """Everything on the page that a user would read as 'this is broken'."""
    found = {}
    stderr = page.locator(
        '.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    tracebacks = [t for t in stderr.all_inner_texts()
                  if re.search(r"Traceback|Error\b|Exception\b|^\w+Error:", t, re.M)]
    if tracebacks:
        found["tracebacks in cell outputs"] = tracebacks
    outputs = page.locator(".jp-Notebook .jp-OutputArea-output").all_inner_texts()
    bad_widgets = [t for t in outputs if _WIDGET_FAILURE.search(t)]
    if bad_widgets:
        found["widgets that did not render"] = bad_widgets
    # kmemlab's widgets catch unexpected exceptions and show them in their panel with
    # this sentence (kmemlab/widgets/base.py: BUG_REPORT) instead of losing them
    internal = [t for t in outputs if "this is a kmemlab bug, please report it" in t]
    if internal:
        found["internal errors shown by a widget"] = internal
    unrun = page.evaluate(
        """() => [...document.querySelectorAll('.jp-CodeCell')]
                 .filter(c => /\\[ \\]/.test(c.querySelector('.jp-InputPrompt')?.textContent
                                               || '')
                              && (c.querySelector('.jp-InputArea-editor')?.textContent
                                  || '').trim())
                 .length""")
    if unrun:
        found["code cells not run (Run All stopped early?)"] = [str(unrun)]
    if log_console:
        logged = [t for t in log_console_entries(page)
                  if re.search(r"Traceback|Error|Exception", t)]
        if logged:
            found["errors from widget callbacks (Log Console)"] = logged
    if js and js["pageerror"]:
        found["JavaScript exceptions"] = list(js["pageerror"])
    return found


def check_errors(page, js: dict | None = None, **kw) -> None:
    """Raise NotebookErrors if collect_errors() finds anything."""
    found = collect_errors(page, js, **kw)
    if found:
        lines = []
        for what, items in found.items():
            lines.append(f"{what}:")
            lines += ["    " + t.strip().replace("\n", "\n    ")[-1500:] for t in items]
        raise NotebookErrors("\n".join(lines))


def shot(page, name: str, locator=None) -> Path:
    """Save a screenshot (whole page, or one element) under test-output/e2e/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    if locator is not None:
        locator.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    return path


def img_srcs(locator) -> list[str]:
    """The src of every <img> under *locator* (figures are data: URLs)."""
    return locator.locator("img").evaluate_all("els => els.map(e => e.src)")


def wait_changed(page, get, before, timeout: float = 20_000, what: str = "value"):
    """Poll get() until it differs from *before*; return the new value."""
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        now = get()
        if now != before:
            return now
        page.wait_for_timeout(100)
    raise AssertionError(f"{what} did not change within {timeout / 1000:.0f} s")


def shutdown_kernels(server: LabServer) -> None:
    """Stop every kernel of *server* (the REST API), so idle chapters do not pile up."""
    try:
        kernels = json.loads(server.get("/api/kernels"))
    except OSError:
        return
    for k in kernels:
        req = urllib.request.Request(f"{server.base}/api/kernels/{k['id']}?token={server.token}",
                                     method="DELETE")
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except OSError:
            pass


# --------------------------------------------------------------------------- kmemlab explorers

class ExplorerView:
    """One kmemlab explorer (km.widgets.*) as the browser shows it, found by its title.

    Layout (kmemlab/widgets/base.py): a head `<b>title</b> — profile`, controls, the
    back/forward/undo/reset row, a message line, the oops panel, the figure (an ipywidgets
    Image), "why", the dmesg tail.
    """

    def __init__(self, page, title: str, index: int = 0):
        self.page, self.title = page, title
        self.root = self.outputs(page, title).nth(index)
        self.head = self.root.locator(".widget-html").filter(has=self._title_b()).first
        self.image = self.root.locator("img.widget-image").first
        self.why = self.root.locator(".widget-html:has(b:text-is('why')) + .widget-html").first

    def _title_b(self):
        return self.page.locator(f"b:text-is({json.dumps(self.title)})")

    @staticmethod
    def outputs(page, title: str):
        """Cell outputs that hold an explorer with this title (head + figure)."""
        head = page.locator(".widget-html").filter(
            has=page.locator(f"b:text-is({json.dumps(title)})"))
        return (page.locator(".jp-Notebook .jp-OutputArea-output")
                .filter(has=head).filter(has=page.locator("img.widget-image")))

    @classmethod
    def all_in(cls, page, title: str) -> list[ExplorerView]:
        return [cls(page, title, i) for i in range(cls.outputs(page, title).count())]

    # controls, found by their description (ipywidgets' label) or button text
    def _labelled(self, kind: str, label: str):
        return self.root.locator(f".{kind}").filter(
            has=self.page.locator(f"label.widget-label:text-is({json.dumps(label)})")).first

    def button(self, text: str):
        return self.root.get_by_role("button", name=text, exact=True).first

    def click(self, text: str) -> None:
        self.button(text).click()

    def select(self, label: str, option: str) -> None:
        self._labelled("widget-dropdown", label).locator("select").select_option(option)

    def set_slider(self, label: str, value: int) -> None:
        """Type the value into the slider's readout, as a user can (click, select, type)."""
        readout = self._labelled("widget-slider", label).locator(".widget-readout")
        readout.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(str(value))
        self.page.keyboard.press("Enter")
        self.page.wait_for_function(
            "([el, v]) => el.textContent.trim().replace(/,/g, '') === v",
            arg=[readout.element_handle(), str(value)], timeout=10_000)

    def fill(self, label: str, text: str) -> None:
        box = self._labelled("widget-text", label).locator("input")
        box.fill(text)
        box.press("Tab")  # commit the value to the kernel

    # what the user sees
    def png(self) -> bytes:
        self.image.wait_for()
        self.page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                    arg=self.image.element_handle(), timeout=15_000)
        return self.image.screenshot()

    def wait_png_changed(self, before: bytes, what: str, timeout: float | None = None) -> bytes:
        return wait_changed(self.page, self.png, before, timeout or self.timeout,
                            what=f"{self.title} figure after {what}")

    timeout = 30_000  # ms, for each expected change

    def expect_text(self, locator, text: str, timeout: float | None = None) -> None:
        """Wait until *locator* contains *text* (a str or regex); fail with what it shows."""
        timeout = self.timeout if timeout is None else timeout
        pattern = text if isinstance(text, re.Pattern) else re.compile(re.escape(text))
        deadline = time.monotonic() + timeout / 1000
        shown = ""
        while time.monotonic() < deadline:
            shown = locator.inner_text() if locator.count() else "<missing>"
            if pattern.search(shown):
                return
            self.page.wait_for_timeout(150)
        raise AssertionError(f"{self.title}: expected {pattern.pattern!r}, the page shows:\n"
                             f"{shown[:1500]}")

    def expect_why(self, text) -> None:
        self.expect_text(self.why, text)

    def expect_oops(self, text) -> None:
        oops = self.root.locator(".widget-html").filter(
            has_text=re.compile(r"Oops / kernel bug|Kernel panic|User-space (abort|crash)")).first
        self.expect_text(oops, text)

    def expect_shown(self, text) -> None:
        self.expect_text(self.root, text)

    def shot(self, name: str) -> Path:
        self.root.scroll_into_view_if_needed()
        return shot(self.page, name, self.root)


class UIIssue(UserWarning):
    """Something a person would find wrong or ugly, seen in the browser, that is not (yet) a
    failure: shown in pytest's warnings summary."""


def ui_issue(message: str) -> None:
    import warnings

    warnings.warn(UIIssue(message), stacklevel=2)


def dmesg_hides_newest(ex: ExplorerView) -> bool:
    """True if the explorer's dmesg box is scrolled so that its newest lines are hidden."""
    box = ex.root.locator(".widget-html:has(b:text-is('dmesg')) + .widget-html").first
    if box.count() == 0:
        return False
    return box.evaluate("""el => {
        const s = [el, ...el.querySelectorAll('*')].find(e => e.scrollHeight > e.clientHeight + 2
                    && getComputedStyle(e).overflowY !== 'visible');
        return !!s && s.scrollTop + s.clientHeight < s.scrollHeight - 2; }""")
