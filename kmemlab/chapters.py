"""Where the chapter notebooks are, and copying them out for a student.

A wheel carries them as package data (``kmemlab/notebooks``, put there by setup.py); a
source checkout or an editable install has them in the repository's ``notebooks/``.
They must run from a folder of their own that the student can write to (they import
``exercises`` and read ``data/`` relative to it, and save quiz responses there), so
``kmemlab notebooks DIR`` and ``kmemlab lab`` copy them out rather than serve
site-packages. Standard library only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

START = "00-start-here.ipynb"
_IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


def chapters_dir() -> Path:
    """The shipped chapters: package data, else the source tree's notebooks/."""
    pkg = Path(__file__).resolve().parent
    for cand in (pkg / "notebooks", pkg.parent / "notebooks"):
        if (cand / START).is_file():
            return cand
    raise FileNotFoundError("the kmemlab chapters are not installed with this copy of "
                            "kmemlab (neither kmemlab/notebooks nor a source tree's notebooks/)")


def is_source_tree(path: Path) -> bool:
    """True when ``path`` is a repository's notebooks/ (editable install), not package data."""
    return path.resolve().parent != Path(__file__).resolve().parent


def copy_chapters(dest: str | Path, *, overwrite: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy the chapters into ``dest`` (created if needed).

    Files the student already has are kept (their work) unless ``overwrite``; returns
    (copied, kept) as paths relative to ``dest``.
    """
    src = chapters_dir()
    dest = Path(dest)
    if dest.resolve() == src.resolve():
        raise ValueError(f"{dest} is where the chapters are shipped; copy them elsewhere")
    copied: list[Path] = []
    kept: list[Path] = []

    def copy(s, d):
        rel = Path(d).relative_to(dest)
        if Path(d).exists() and not overwrite:
            kept.append(rel)
            return d
        copied.append(rel)
        return shutil.copy2(s, d)

    shutil.copytree(src, dest, ignore=_IGNORE, copy_function=copy, dirs_exist_ok=True)
    return copied, kept
