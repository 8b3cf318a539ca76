"""JupyterLab defaults for a kmemlab lab: no "get notified about Jupyter news?" pop-up.

JupyterLab 4 asks every new user whether to fetch news from jupyter.org; the toast covers
the first chapter in a class or on Binder. The setting (``fetchNews`` of the
``@jupyterlab/apputils-extension:notification`` plugin) gets a new *default* for one
environment from an overrides file in that environment's app settings directory,
``{prefix}/share/jupyter/lab/settings/overrides.d/`` (jupyterlab_server's
``_get_overrides``); a user who wants the news can still switch it on.

``python -m kmemlab.labconfig [PREFIX]`` writes it (``make lab``, ``binder/postBuild``
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


def overrides_path(prefix: str | Path | None = None) -> Path:
    """Where the overrides file of the environment at ``prefix`` (default: this one) goes."""
    prefix = Path(sys.prefix if prefix is None else prefix)
    return prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / FILENAME


def quiet_news(prefix: str | Path | None = None) -> Path:
    """Write the overrides file (idempotent); returns its path. Raises OSError if the
    environment is not writable."""
    path = overrides_path(prefix)
    text = json.dumps(OVERRIDES, indent=2) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        path = quiet_news(argv[0] if argv else None)
    except OSError as exc:
        print(f"kmemlab.labconfig: cannot write the JupyterLab overrides: {exc}",
              file=sys.stderr)
        return 1
    print(f"JupyterLab news pop-up off for this environment: {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
