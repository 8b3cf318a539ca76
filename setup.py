"""Only one thing pyproject.toml cannot say: put the chapters (notebooks/) into the wheel.

A wheel gets a copy of notebooks/ as the package data folder ``kmemlab/notebooks``, so a
plain ``pip install kmemlab`` has the chapters (``kmemlab notebooks DIR``, ``kmemlab lab``).
Editable installs and the source tree use notebooks/ where it is (kmemlab/chapters.py).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SKIP = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


class build_py_with_chapters(build_py):
    def run(self):
        super().run()
        src = HERE / "notebooks"
        if getattr(self, "editable_mode", False) or not src.is_dir():
            return
        dest = Path(self.build_lib) / "kmemlab" / "notebooks"
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(src, dest, ignore=SKIP)


setup(cmdclass={"build_py": build_py_with_chapters})
