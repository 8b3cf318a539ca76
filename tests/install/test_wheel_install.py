"""A plain (non-editable) ``pip install`` of a built wheel: chapters and ``kmemlab lab`` work.

Builds the wheel from the working tree, installs ``kmemlab[lab]`` from it into a fresh
venv (pip's cache makes that ~30-60 s), then, from a folder that is not the repository:
``kmemlab notebooks DIR`` copies the chapters out, and ``kmemlab lab --notebooks DIR
--no-browser ...`` (Jupyter options passed straight through) starts the venv's own
JupyterLab serving them, with --allow-root added as root.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert r.returncode == 0, f"{cmd}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src") / "kmemlab"   # never write build/ into the tree
    import shutil

    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv*", ".git", "*.egg-info", "build", "__pycache__", "test-output", ".hypothesis",
        ".ipynb_checkpoints"))
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, src])
    (whl,) = out.glob("kmemlab-*.whl")
    return whl


def test_wheel_carries_the_chapters(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for nb in CHAPTERS:
        assert f"kmemlab/notebooks/{nb}" in names
    assert "kmemlab/notebooks/exercises/ch02.py" in names
    assert "kmemlab/notebooks/quizzes/00-start-here.yaml" in names
    assert not [n for n in names if ".ipynb_checkpoints" in n or "__pycache__" in n]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    env_dir = tmp_path_factory.mktemp("wheel-venv") / "v"
    venv.create(env_dir, with_pip=True)
    run([env_dir / "bin" / "python", "-m", "pip", "install", "-q", f"{wheel}[lab]"])
    return env_dir


def _env(env_dir: Path, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VIRTUAL_ENV",
                                                                   "PYTHON"))}
    env.update(HOME=str(home), PATH=f"{env_dir / 'bin'}:/usr/bin:/bin",
               JUPYTER_CONFIG_DIR=str(home / "cfg"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "rt"))
    return env


def test_notebooks_command_copies_chapters(installed, tmp_path):
    env = _env(installed, tmp_path)
    r = run([installed / "bin" / "kmemlab", "notebooks", "class"], cwd=tmp_path, env=env)
    assert "files copied" in r.stdout
    got = sorted(p.name for p in (tmp_path / "class").glob("[0-9]*.ipynb"))
    assert got == CHAPTERS
    where = run([installed / "bin" / "python", "-c",
                 "import kmemlab.chapters as c; print(c.chapters_dir())"], cwd=tmp_path, env=env)
    assert str(installed) in where.stdout          # package data, not the repository
    (tmp_path / "class" / "00-start-here.ipynb").write_text("{}")   # a student's work
    r = run([installed / "bin" / "kmemlab", "notebooks", "class"], cwd=tmp_path, env=env)
    assert "kept" in r.stdout and (tmp_path / "class" / "00-start-here.ipynb").read_text() == "{}"
    # the copy runs: its exercises import from the copied folder
    run([installed / "bin" / "python", "-c", "import exercises; print(exercises.__file__)"],
        cwd=tmp_path / "class", env=env)


def test_kmemlab_lab_from_the_wheel(installed, tmp_path):
    env = _env(installed, tmp_path)
    run([installed / "bin" / "kmemlab", "notebooks", "nb"], cwd=tmp_path, env=env)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(8)
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen([installed / "bin" / "kmemlab", "lab", "--notebooks", "nb",
                             "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                             f"--IdentityProvider.token={token}"],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token="
                                            f"{token}", timeout=2) as r:
                    listing = json.loads(r.read())
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("kmemlab lab did not start:\n"
                                + (tmp_path / "lab.log").read_text()[-3000:])
                time.sleep(0.3)
        names = sorted(i["name"] for i in listing["content"])
        assert set(CHAPTERS) <= set(names)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/api/settings/"
                                    "@jupyterlab/apputils-extension:notification?token="
                                    f"{token}", timeout=10) as r:
            settings = json.loads(r.read())
        assert settings["schema"]["properties"]["fetchNews"]["default"] == "false", \
            settings["schema"]["properties"]["fetchNews"]   # no news pop-up
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(20)
        log.close()
    text = (tmp_path / "lab.log").read_text()
    assert str(installed / "bin") in text or "jupyter" in text.lower()
