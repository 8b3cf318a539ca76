"""``kmemlab lab``: every argument but --notebooks goes to Jupyter, unchanged and in order."""

from __future__ import annotations

import os
import sys

import pytest

from kmemlab import cli_core
from kmemlab.cli import main


@pytest.mark.parametrize("argv,want", [
    (["--no-browser"], (None, ["--no-browser"])),
    (["--", "--no-browser", "--port", "8890"], (None, ["--no-browser", "--port", "8890"])),
    (["--notebooks", "nb", "--port=1", "--ServerApp.ip=127.0.0.1"],
     ("nb", ["--port=1", "--ServerApp.ip=127.0.0.1"])),
    (["--port", "1", "--notebooks=x"], ("x", ["--port", "1"])),
])
def test_lab_argv(argv, want):
    assert cli_core.lab_argv(argv) == want


def test_lab_passes_arguments_and_uses_its_own_jupyter(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(cli_core.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert main(["lab", "--notebooks", str(tmp_path), "--no-browser", "--port", "8890"]) == 0
    (cmd,) = calls
    assert cmd[0].startswith(os.path.dirname(sys.executable)) or cmd[:3] == [
        sys.executable, "-m", "jupyterlab"]
    assert cmd[-4:] == ["--no-browser", "--port", "8890", "--allow-root"]
    assert f"--notebook-dir={tmp_path}" in cmd
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    main(["lab", "--notebooks", str(tmp_path), "--allow-root"])
    assert calls[-1].count("--allow-root") == 1
    main(["lab", "--notebooks", str(tmp_path)])
    assert "--allow-root" not in calls[-1]


def test_lab_errors(monkeypatch, tmp_path, capsys):
    assert main(["lab", "--notebooks", str(tmp_path / "nope")]) == 2
    assert "kmemlab notebooks" in capsys.readouterr().err
    assert main(["lab", "--notebooks"]) == 2
    monkeypatch.setattr(cli_core, "jupyter_lab_command", lambda: None)
    assert main(["lab"]) == 2
    assert "kmemlab[lab]" in capsys.readouterr().err
    assert main(["lab", "--help"]) == 0
    assert "JUPYTER ARGS" in capsys.readouterr().out


def test_notebooks_command(tmp_path, capsys):
    assert main(["notebooks", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "00-start-here.ipynb").is_file()
    assert (tmp_path / "c" / "exercises" / "__init__.py").is_file()
    assert main(["notebooks", str(tmp_path / "c")]) == 0
    assert "0 files copied" in capsys.readouterr().out
