"""A class on a real JupyterHub, end to end: three students, their own variants, nbgrader.

Started by the test, everything on 127.0.0.1: JupyterHub (PyPI) with
deploy/jupyterhub/jupyterhub_config.py (shared-password login, the simple local process
spawner: homes under a temporary folder), configurable-http-proxy (npm, installed into
this environment's ``npm/`` folder on first use) on the system's Node.js. Then, as each
of alice, bob and carol, in headless Chromium:

1. log in on the hub's login page (the hub starts the student's server);
2. open the nbgitpuller link of deploy/jupyterhub/nbgitpuller_link.py, which clones the
   class repository (a local git repository holding this tree's notebooks/) into the
   home and opens chapter 0; Run All, no errors;
3. fetch the graded problem set (deploy/jupyterhub/example/ps1.yaml exported for
   nbgrader, released by the instructor) and work it in JupyterLab: run it, read the
   question the notebook prints for *this* student, type an answer, run on; save;
   submit.

``nbgrader fetch_assignment`` / ``submit`` run as commands in the student's environment
(home, USER, JUPYTERHUB_USER), which is what nbgrader's Assignments tab runs on the
student's behalf. The instructor then runs ``nbgrader collect``, ``autograde`` and
``export``: each student's grade must be the one the quiz model gives for what they
typed against *their own* variant (alice answers her own numbers: 3/3; bob types
alice's answers: 1/3; carol her own order and alice's cache: 2/3).

Skips, saying why, without Node.js/npm, Chromium, git, or the hub packages.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from lab_helpers import (
    CHROMIUM_ARGS,
    ROOT,
    browser_problem,
    check_errors,
    find_chromium,
    free_port,
    menu,
    run_all,
    shot,
    wait_idle,
    watch_page,
)

DEPLOY = ROOT / "deploy" / "jupyterhub"
QUIZ = DEPLOY / "example" / "ps1.yaml"
STUDENTS = ("alice", "bob", "carol")
BIN = Path(sys.executable).parent
CHP_NPM = "configurable-http-proxy@5"


def _problem() -> str | None:
    missing = [m for m in ("jupyterhub", "nbgitpuller", "nbgrader")
               if importlib.util.find_spec(m) is None]
    if missing:
        return (f"{', '.join(missing)} not installed in this environment: "
                "pip install -e '.[test]' (make test does)")
    if not shutil.which("node") or not shutil.which("npm"):
        return ("Node.js and npm are needed for configurable-http-proxy: "
                "apt-get install nodejs npm as root (bash .ci/run does it when it can)")
    if not shutil.which("git"):
        return "git is needed for nbgitpuller: apt-get install git"
    return browser_problem()


def configurable_http_proxy() -> str:
    """configurable-http-proxy on PATH, or npm-installed into this environment once."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    prefix = Path(sys.prefix) / "npm"
    exe = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if not exe.exists():
        r = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit",
                            "--no-fund", "--loglevel=error", CHP_NPM],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0 or not exe.exists():
            pytest.skip(f"npm install {CHP_NPM} failed:\n{r.stderr[-1500:]}")
    return str(exe)


def sh(cmd, **kw) -> str:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600,
                       **kw)
    assert r.returncode == 0, f"{cmd}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout + r.stderr


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "NBGRADER", "KMEMLAB_HUB"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


class Hub:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.homes = tmp / "homes"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.password = "class-" + secrets.token_hex(8)
        self.log_path = tmp / "hub.log"
        env = clean_env(
            KMEMLAB_HUB_PORT=str(self.port), KMEMLAB_HUB_API_PORT=str(free_port()),
            KMEMLAB_HUB_PROXY_API_PORT=str(free_port()), KMEMLAB_HUB_DATA=str(tmp / "hub"),
            KMEMLAB_HUB_STUDENTS=",".join(STUDENTS), KMEMLAB_HUB_AUTH="shared-password",
            KMEMLAB_HUB_PASSWORD=self.password, KMEMLAB_HUB_SPAWNER="simple",
            KMEMLAB_HUB_HOMES=str(self.homes), KMEMLAB_HUB_PROXY=configurable_http_proxy())
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [BIN / "jupyterhub", "-f", DEPLOY / "jupyterhub_config.py"], cwd=tmp, env=env,
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def log_tail(self, n: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/hub/login", timeout=2):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterHub did not start:\n" + self.log_tail()) \
                        from None
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the hub stops the students' servers
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()

    def home(self, user: str) -> Path:
        return self.homes / user

    def student_env(self, user: str) -> dict:
        """What the spawner gives the student's server (SimpleLocalProcessSpawner.user_env)."""
        return clean_env(HOME=str(self.home(user)), USER=user, JUPYTERHUB_USER=user)


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    problem = _problem()
    if problem:
        pytest.skip(problem)
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("hub")
    hub = Hub(tmp)          # boots while the instructor's side is prepared below
    try:
        # the class repository: this tree's chapters, committed (nbgitpuller clones it)
        repo = tmp / "class" / "kmemlab"
        shutil.copytree(ROOT / "notebooks", repo / "notebooks", ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "__pycache__", "*.json"))
        git = ["git", "-C", repo, "-c", "user.name=Instructor", "-c",
               "user.email=i@example.edu"]
        sh(["git", "init", "-q", "-b", "main", repo])
        sh([*git, "add", "-A"])
        sh([*git, "commit", "-q", "-m", "chapters"])
        # the instructor's course: ps1 exported for nbgrader, generated and released
        # (students join the gradebook when autograde first sees them)
        course, exchange = tmp / "course", tmp / "exchange"
        (course / "source" / "ps1").mkdir(parents=True)
        exchange.mkdir(mode=0o777)
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            "c.CourseDirectory.course_id = 'kmemlab'\n"
            f"c.CourseDirectory.root = {str(course)!r}\n"
            f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
            f"c.Exchange.root = {str(exchange)!r}\n"
            "c.CollectApp.check_owner = False  # one Unix user for all students here\n"
            "c.Execute.timeout = 180\n")
        sh([BIN / "kmemlab", "quiz", "export", QUIZ, "--to", "nbgrader", "-o",
            course / "source" / "ps1" / "ps1.ipynb"], env=clean_env())
        for cmd in (["generate_assignment", "ps1", "--force"], ["release_assignment", "ps1"]):
            sh([BIN / "nbgrader", *cmd], cwd=course, env=clean_env())
        hub.wait_ready()
        yield {"hub": hub, "repo": repo, "course": course, "exchange": exchange,
               "t0": t0}
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def chromium(classroom):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _quiz():
    from kmemlab.quiz import Quiz

    return Quiz.load(QUIZ)


def right_answers(student: str) -> dict:
    """Each question's right answer for ``student`` (the quiz model, not the notebook)."""
    quiz = _quiz()
    f = quiz.functions()
    out = {}
    for v in quiz.variant(student, f):
        e = v.question.expected(v.params, f)
        out[v.question.id] = int(e) if hasattr(e, "denominator") else e
    return out


def prompts(student: str) -> dict:
    return {v.question.id: v.prompt.strip() for v in _quiz().variant(student)}


# what each student types: alice her own answers, bob alice's, carol her own order and
# alice's cache; everyone the static question's right letter
def typed(student: str) -> dict:
    mine, alices = right_answers(student), right_answers("alice")
    plan = {"alice": mine, "bob": alices,
            "carol": {"order": mine["order"], "cache": alices["cache"]}}[student]
    return {"order": plan["order"], "cache": plan["cache"], "context": "a"}


def expected_points(student: str) -> int:
    right, t = right_answers(student), typed(student)
    return sum(t[q] == right[q] for q in ("order", "cache")) + 1


def login(page, hub: Hub, user: str) -> None:
    page.goto(f"{hub.base}/hub/login", wait_until="domcontentloaded")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=180_000)


def pull_chapters(page, hub: Hub, user: str, repo: Path) -> None:
    sys.path.insert(0, str(DEPLOY))
    try:
        from nbgitpuller_link import link
    finally:
        sys.path.remove(str(DEPLOY))
    url = link(hub.base, f"file://{repo}", branch="main", chapter="00-start-here")
    page.goto(url, wait_until="commit")
    page.wait_for_url(re.compile(rf"/user/{user}/lab/tree/kmemlab/notebooks/00-start-here"),
                      timeout=180_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    wait_idle(page, timeout=120_000)


def run_from_selected(page) -> None:
    """Run > Run Selected Cell and All Below, then wait as run_all does."""
    menu(page, "Run", "Run Selected Cell and All Below")
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
        ".some(p => p.textContent.includes('*'))", timeout=180_000, polling=200)
    wait_idle(page, timeout=180_000)


def work_the_problem_set(page, hub: Hub, user: str) -> dict:
    """Open ~/ps1/ps1.ipynb, read this student's questions, type answers, save."""
    page.goto(f"{hub.base}/user/{user}/lab/workspaces/ps1/tree/ps1/ps1.ipynb?reset",
              wait_until="commit")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    wait_idle(page, timeout=120_000)
    cells = page.locator(".jp-Notebook .jp-Cell")
    # cells: intro, setup, then (question, answer, test) per question, in file order
    order = [q.id for q in _quiz().questions]
    shown = {}
    run_all(page, timeout=180_000)          # stops at the first answer cell (not written)
    for k, qid in enumerate(order):
        ask, ans = cells.nth(2 + 3 * k), cells.nth(3 + 3 * k)
        text = ask.locator(".jp-OutputArea-output").inner_text()
        shown[qid] = text
        value = typed(user)[qid]
        ans.locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(f"answer_{qid} = {value!r}")
        run_from_selected(page)
    page.keyboard.press("Control+S")
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.lm-TabBar-tab')]"
        ".some(t => t.classList.contains('jp-mod-dirty'))", timeout=30_000)
    shot(page, f"hub-{user}-ps1")
    return shown


def test_class_on_jupyterhub(classroom, chromium):
    hub, course = classroom["hub"], classroom["course"]
    timings = {"setup (repo, course, hub start)": time.monotonic() - classroom["t0"]}
    nbg = [BIN / "nbgrader"]
    for user in STUDENTS:
        t = time.monotonic()
        ctx = chromium.new_context(viewport={"width": 1280, "height": 1400})
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        js = watch_page(page)
        try:
            login(page, hub, user)
            pull_chapters(page, hub, user, classroom["repo"])
            assert (hub.home(user) / "kmemlab" / "notebooks" / "00-start-here.ipynb").is_file()
            run_all(page, timeout=240_000)
            check_errors(page, js, log_console=False)
            shot(page, f"hub-{user}-chapter0")
            # the student's nbgrader config: course, exchange, and the hub account as id
            (hub.home(user) / "nbgrader_config.py").write_text(
                "import os\nc = get_config()\nc.CourseDirectory.course_id = 'kmemlab'\n"
                f"c.Exchange.root = {str(classroom['exchange'])!r}\n"
                "c.CourseDirectory.student_id = os.environ['JUPYTERHUB_USER']\n")
            sh([*nbg, "fetch_assignment", "ps1"], cwd=hub.home(user), env=hub.student_env(user))
            shown = work_the_problem_set(page, hub, user)
            for qid, prompt in prompts(user).items():    # the student's own numbers
                assert prompt in shown[qid], (user, qid, shown[qid])
            assert f"variant of '{user}'" in page.locator(".jp-Notebook .jp-Cell").nth(1) \
                .locator(".jp-OutputArea-output").inner_text()
            check_errors(page, js, log_console=False)
            sh([*nbg, "submit", "ps1"], cwd=hub.home(user), env=hub.student_env(user))
        except Exception:
            shot(page, f"FAILED-hub-{user}")
            print(hub.log_tail())
            raise
        finally:
            ctx.close()
        timings[user] = time.monotonic() - t
    # different students, different questions
    assert len({json.dumps(prompts(u)) for u in STUDENTS}) == 3

    t = time.monotonic()
    env = clean_env()
    sh([*nbg, "collect", "ps1"], cwd=course, env=env)
    for u in STUDENTS:
        assert (course / "submitted" / u / "ps1" / "ps1.ipynb").is_file()
    sh([*nbg, "autograde", "ps1", "--force"], cwd=course, env=env)
    sh([*nbg, "export", "--to", classroom["hub"].tmp / "grades.csv"], cwd=course, env=env)
    timings["collect + autograde + export"] = time.monotonic() - t
    rows = {r["student_id"]: r for r in csv.DictReader((hub.tmp / "grades.csv").open())}
    got = {u: float(rows[u]["raw_score"]) for u in STUDENTS}
    want = {u: float(expected_points(u)) for u in STUDENTS}
    assert want == {"alice": 3.0, "bob": 1.0, "carol": 2.0}
    assert got == want, (got, want)
    for u in STUDENTS:   # each graded as themselves by the hidden tests
        graded = (course / "autograded" / u / "ps1" / "ps1.ipynb").read_text()
        assert f"variant of '{u}'" in graded
    print("hub e2e timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
