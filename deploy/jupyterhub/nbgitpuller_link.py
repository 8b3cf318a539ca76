#!/usr/bin/env python3
"""Print the nbgitpuller link that gives every student the chapters, opened in JupyterLab.

    python deploy/jupyterhub/nbgitpuller_link.py --hub https://hub.example.edu \\
        --repo https://github.com/<you>/kmemlab [--branch main] [--chapter 00-start-here]

A student who clicks it logs in, the hub starts their server, nbgitpuller clones the
repository into ~/<target> (or merges new commits into it, never overwriting the
student's changes) and JupyterLab opens the chapter. Post the link on the course page.
The repository is any clone nbgitpuller's `git` can read from the students' servers:
https://..., or a path/file:// URL on the hub's machine. Standard library only.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlencode


def link(hub: str, repo: str, branch: str = "main", chapter: str = "00-start-here",
         target: str | None = None, notebooks: str = "notebooks", app: str = "lab") -> str:
    """The nbgitpuller URL (``/hub/user-redirect/git-pull?...``)."""
    target = target or repo.rstrip("/").split("/")[-1].removesuffix(".git")
    nb = chapter if chapter.endswith(".ipynb") else f"{chapter}.ipynb"
    path = f"{target}/{notebooks}/{nb}".replace("//", "/")
    urlpath = f"lab/tree/{path}" if app == "lab" else f"tree/{path}"
    query = urlencode({"repo": repo, "branch": branch, "targetpath": target,
                       "urlpath": urlpath})
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hub", required=True, help="the hub's URL, e.g. https://hub.example.edu")
    p.add_argument("--repo", required=True, help="the repository with notebooks/")
    p.add_argument("--branch", default="main")
    p.add_argument("--chapter", default="00-start-here", help="the notebook to open")
    p.add_argument("--target", help="folder in the student's home (default: repo name)")
    p.add_argument("--notebooks", default="notebooks", help="notebook folder in the repo")
    p.add_argument("--app", choices=["lab", "notebook"], default="lab")
    a = p.parse_args(argv)
    print(link(a.hub, a.repo, a.branch, a.chapter, a.target, a.notebooks, a.app))
    return 0


if __name__ == "__main__":
    sys.exit(main())
