"""Who the student is, from the platform rather than from a name typed in a notebook.

* On JupyterHub the single-user server (and so the kernel) has ``JUPYTERHUB_USER``, the
  account the student logged in with (JupyterHub's Spawner.get_env).
* While ``nbgrader autograde`` runs a submission it sets ``NBGRADER_EXECUTION=autograde``
  (nbgrader/converters/autograde.py, ``convert_single_notebook``) and executes it in the
  autograded copy's folder, ``autograded/<student_id>/<assignment_id>/`` in nbgrader's
  default ``CourseDirectory.directory_structure``: the student id is that folder's
  parent's name, the id nbgrader grades the submission under.
* Elsewhere (a laptop, ``nbgrader validate`` of the source) the operating-system user,
  as nbgrader's own ``get_username`` does.

Standard library only.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path


class IdentityError(RuntimeError):
    pass


def hub_user() -> str | None:
    """The JupyterHub account this kernel runs for, or None outside a hub."""
    return os.environ.get("JUPYTERHUB_USER") or None


def nbgrader_student(cwd: str | Path | None = None) -> str | None:
    """The nbgrader student id while ``nbgrader autograde`` executes, else None."""
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        return None
    here = Path(cwd or os.getcwd()).resolve()
    if here.parent.parent.name != "autograded":
        raise IdentityError(
            f"nbgrader autograde runs in {here}, not in autograded/<student>/<assignment>/ "
            "(nbgrader's default CourseDirectory.directory_structure): kmemlab cannot tell "
            "whose variant to grade; keep the default directory structure")
    return here.parent.name


def student_id() -> str:
    """nbgrader's student id during autograde, else the JupyterHub user, else the OS user."""
    return nbgrader_student() or hub_user() or getpass.getuser()
