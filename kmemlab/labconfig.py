"""Jupyter defaults for a kmemlab lab: no "Jupyter news?" pop-up, no 40 ms message delay.

JupyterLab 4 asks every new user whether to fetch news from jupyter.org; the toast covers
the first chapter in a class or on Binder. The setting (``fetchNews`` of the
``@jupyterlab/apputils-extension:notification`` plugin) gets a new *default* for one
environment from an overrides file in that environment's app settings directory,
``{prefix}/share/jupyter/lab/settings/overrides.d/`` (jupyterlab_server's
``_get_overrides``); a user who wants the news can still switch it on.

It also enables the server extension :mod:`kmemlab.lab_server` for that environment, as
any Jupyter server extension is enabled: a file in ``{prefix}/etc/jupyter/
jupyter_server_config.d/`` (jupyter_server reads every ``*.json`` there, in the
environment's part of ``jupyter --paths``) setting ``ServerApp.jpserver_extensions``. Each
widget click's answer then reaches the browser at once instead of waiting on Nagle's
algorithm (the module says why and what was measured).

``python -m kmemlab.labconfig [PREFIX]`` writes both (``make lab``, ``binder/postBuild``
and the hub image run it; ``kmemlab lab`` does it when the environment is writable).
Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PLUGIN = "@jupyterlab/apputils-extension:notification"
OVERRIDES = {PLUGIN: {"fetchNews": "false", "checkForUpdates": False}}
FILENAME = "kmemlab.json"
# the server extension, enabled for one environment (jupyter_server's extension config)
SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {"kmemlab.lab_server": True}}}


def overrides_path(prefix: str | Path | None = None) -> Path:
    """Where the overrides file of the environment at ``prefix`` (default: this one) goes."""
    prefix = Path(sys.prefix if prefix is None else prefix)
    return prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / FILENAME


def quiet_news(prefix: str | Path | None = None) -> Path:
    """Write the overrides file (idempotent); returns its path. Raises OSError if the
    environment is not writable."""
    return _write_json(overrides_path(prefix), OVERRIDES)


def server_config_path(prefix: str | Path | None = None) -> Path:
    """Where the server-extension config of the environment at ``prefix`` goes."""
    prefix = Path(sys.prefix if prefix is None else prefix)
    return prefix / "etc" / "jupyter" / "jupyter_server_config.d" / FILENAME


def enable_lab_server(prefix: str | Path | None = None) -> Path:
    """Enable :mod:`kmemlab.lab_server` for the environment at ``prefix`` (idempotent);
    returns the config file's path. Raises OSError if the environment is not writable."""
    return _write_json(server_config_path(prefix), SERVER_CONFIG)


def configure(prefix: str | Path | None = None) -> list[Path]:
    """Both defaults of a kmemlab lab for one environment; the files written."""
    return [quiet_news(prefix), enable_lab_server(prefix)]


def _write_json(path: Path, content: dict) -> Path:
    text = json.dumps(content, indent=2) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        news, server = configure(argv[0] if argv else None)
    except OSError as exc:
        print(f"kmemlab.labconfig: cannot write the Jupyter config: {exc}", file=sys.stderr)
        return 1
    print(f"JupyterLab news pop-up off for this environment: {news}")
    print(f"kernel messages sent without delay (kmemlab.lab_server): {server}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
