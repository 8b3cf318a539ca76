"""Environments, Binder and the class-hub files: what a student's lab gets, and links."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "jupyterhub"


def extra_closure(extra: str) -> set[str]:
    """Every requirement name an extra of kmemlab pulls in (kmemlab[x] followed)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    names, todo, seen = set(), [extra], set()
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.add(e)
        for req in extras[e]:
            m = re.match(r"kmemlab\[([^\]]+)\]", req)
            if m:
                todo += [x.strip() for x in m.group(1).split(",")]
            else:
                names.add(re.split(r"[<>=\[; ]", req)[0].lower())
    return names


def test_student_lab_does_not_pull_instructor_tools():
    lab = extra_closure("lab")
    assert {"jupyterlab", "ipywidgets"} <= lab
    assert not lab & {"nbgrader", "jupyterhub", "pytest", "playwright", "jupyterquiz"}
    hub = extra_closure("hub")
    assert {"jupyterhub", "nbgitpuller", "jupyterlab"} <= hub and "nbgrader" not in hub
    assert "nbgrader" in extra_closure("instructor")
    assert {"nbgrader", "jupyterhub", "nbgitpuller", "pytest"} <= extra_closure("test")


def test_make_test_and_make_lab_use_different_environments():
    dry = subprocess.run(["make", "-n", "-B", "test", "lab"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60).stdout
    test_lines = [ln for ln in dry.splitlines() if "pip install -e '.[test]'" in ln]
    lab_lines = [ln for ln in dry.splitlines() if "pip install -e '.[lab]'" in ln]
    assert test_lines and all(".venv-test/" in ln for ln in test_lines)
    assert lab_lines and all(".venv/" in ln and ".venv-test" not in ln for ln in lab_lines)
    assert "kmemlab.labconfig" in dry                # the news pop-up off in make lab
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("make test")


def test_readme_binder_badge_and_lab_args():
    readme = (ROOT / "README.md").read_text()
    assert "OWNER" not in readme
    assert "make binder-link" in readme and "LAB_ARGS" in readme
    out = subprocess.run(["make", "-s", "binder-link", "BINDER_REPO=teach/kmemlab"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    assert out == ("https://mybinder.org/v2/gh/teach/kmemlab/HEAD"
                   "?urlpath=lab/tree/notebooks/00-start-here.ipynb")
    assert "kmemlab.labconfig" in (ROOT / "binder" / "postBuild").read_text()
    assert "kmemlab.labconfig" in (DEPLOY / "Dockerfile").read_text()


def test_nbgitpuller_link():
    sys.path.insert(0, str(DEPLOY))
    try:
        from nbgitpuller_link import link, main
    finally:
        sys.path.remove(str(DEPLOY))
    url = link("https://hub.example.edu/", "https://github.com/teach/kmemlab.git",
               chapter="02-kmalloc-and-vmalloc")
    u = urlparse(url)
    assert u.netloc == "hub.example.edu" and u.path == "/hub/user-redirect/git-pull"
    q = {k: v[0] for k, v in parse_qs(u.query).items()}
    assert q == {"repo": "https://github.com/teach/kmemlab.git", "branch": "main",
                 "targetpath": "kmemlab",
                 "urlpath": "lab/tree/kmemlab/notebooks/02-kmalloc-and-vmalloc.ipynb"}
    q2 = parse_qs(urlparse(link("http://h", "/srv/class", app="notebook")).query)
    assert q2["urlpath"] == ["tree/class/notebooks/00-start-here.ipynb"]
    assert main(["--hub", "http://h", "--repo", "file:///srv/k"]) == 0


def _load_config(monkeypatch, tmp_path, **env):
    traitlets = pytest.importorskip("traitlets.config")
    for k, v in {"KMEMLAB_HUB_DATA": str(tmp_path / "data"), **env}.items():
        monkeypatch.setenv(k, v)
    cfg = traitlets.Config()
    runpy.run_path(str(DEPLOY / "jupyterhub_config.py"), {"get_config": lambda: cfg})
    return cfg


def test_hub_config_for_a_class(monkeypatch, tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\n# a comment\nbob\n\n")
    c = _load_config(monkeypatch, tmp_path, KMEMLAB_HUB_STUDENTS=str(roster),
                     KMEMLAB_HUB_ADMINS="teacher", KMEMLAB_HUB_PORT="9000")
    assert c.Authenticator.allowed_users == {"alice", "bob", "teacher"}
    assert c.Authenticator.admin_users == {"teacher"}
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.LocalProcessSpawner"
    assert c.JupyterHub.bind_url == "http://127.0.0.1:9000"
    assert c.Spawner.default_url == "/lab"
    assert c.Spawner.cmd[0].endswith("jupyterhub-singleuser")
    assert (tmp_path / "data").is_dir()


def test_hub_config_test_mode_and_errors(monkeypatch, tmp_path):
    c = _load_config(monkeypatch, tmp_path, KMEMLAB_HUB_AUTH="shared-password",
                     KMEMLAB_HUB_PASSWORD="long-enough", KMEMLAB_HUB_SPAWNER="simple",
                     KMEMLAB_HUB_HOMES=str(tmp_path / "h"), KMEMLAB_HUB_STUDENTS="a,b")
    assert c.SharedPasswordAuthenticator.user_password == "long-enough"
    assert c.SimpleLocalProcessSpawner.home_dir_template == str(tmp_path / "h" / "{username}")
    with pytest.raises(ValueError, match="KMEMLAB_HUB_AUTH"):
        _load_config(monkeypatch, tmp_path, KMEMLAB_HUB_AUTH="oauth?")
