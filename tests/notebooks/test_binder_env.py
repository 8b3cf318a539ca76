"""A fresh virtualenv built from binder/ alone runs every chapter notebook under nbval.

Binder itself cannot be reached from CI, so this rebuilds what repo2docker does: a new
venv, ``pip install -r binder/requirements.txt``, ``binder/postBuild`` from the repo root,
plus what Binder's base image already has (jupyterlab, ipykernel) and the test runner
(pytest, nbval). Needs network access to PyPI (or a warm pip cache) and takes 1-3 minutes,
so it runs only with ``KMEMLAB_BINDER_TEST=1``::

    KMEMLAB_BINDER_TEST=1 .venv/bin/python -m pytest -q tests/notebooks/test_binder_env.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = ["jupyterlab>=4", "ipykernel", "pytest", "nbval"]

pytestmark = pytest.mark.skipif(os.environ.get("KMEMLAB_BINDER_TEST") != "1",
                                reason="slow, needs PyPI: set KMEMLAB_BINDER_TEST=1")


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def test_fresh_venv_from_binder_runs_all_notebooks(tmp_path):
    env_dir = tmp_path / "binder-venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    run([py, "-m", "pip", "install", "-q", *BASE_IMAGE])
    run([py, "-m", "pip", "install", "-q", "-r", ROOT / "binder" / "requirements.txt"], cwd=ROOT)
    # postBuild runs from a copy of the repo (never write build/ or egg-info into the tree)
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".venv", ".git", "*.egg-info",
                                                               "build", "__pycache__"))
    env = dict(os.environ, PATH=f"{env_dir / 'bin'}:{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)
    run(["bash", repo / "binder" / "postBuild"], cwd=repo, env=env)
    out = run([py, "-c", "import kmemlab, sys; print(kmemlab.__file__)"], cwd=tmp_path, env=env)
    assert str(env_dir) in out.stdout, "kmemlab was not installed into the Binder venv"
    notebooks = sorted(str(p) for p in (repo / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 7
    # the Chinese chapters: a non-editable install must find its gettext catalogs
    notebooks += sorted(str(p) for p in (repo / "notebooks" / "zh").glob("[0-9]*.ipynb"))
    assert len(notebooks) == 14
    assert (ROOT / "binder" / "apt.txt").read_text().split() == ["fonts-wqy-zenhei"]
    ini = tmp_path / "pytest.ini"   # not the repo's: its addopts need pytest-benchmark
    ini.write_text("[pytest]\n")
    run([py, "-m", "pytest", "-c", ini, "--rootdir", repo / "notebooks", "-q", "-p",
         "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", repo / "notebooks" / "nbval_sanitize.cfg", *notebooks],
        cwd=repo / "notebooks", env=env)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
