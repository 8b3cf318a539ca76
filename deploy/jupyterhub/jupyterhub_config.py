"""JupyterHub for a kmemlab class on one machine (local process spawner).

    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Every setting that differs between classes comes from an environment variable, so the
same file serves a real class and the end-to-end test (tests/e2e/test_hub.py):

  KMEMLAB_HUB_IP / _PORT      where students connect (default 127.0.0.1:8000; put TLS in
                              front, e.g. nginx or `c.JupyterHub.ssl_cert`, before 0.0.0.0)
  KMEMLAB_HUB_API_PORT        the hub's internal API (default 8081)
  KMEMLAB_HUB_PROXY_API_PORT  configurable-http-proxy's API (default 8001)
  KMEMLAB_HUB_PROXY           the configurable-http-proxy command (default: on PATH)
  KMEMLAB_HUB_DATA            hub database, cookie secret, pid file (default /srv/kmemlab-hub)
  KMEMLAB_HUB_STUDENTS        who may log in: comma-separated names or a file, one a line
  KMEMLAB_HUB_ADMINS          instructors (comma-separated)
  KMEMLAB_HUB_AUTH            pam (default: the machine's accounts, one per student) or
                              shared-password (KMEMLAB_HUB_PASSWORD, >= 8 characters: a
                              workshop or a test; anyone with it can log in as any student)
  KMEMLAB_HUB_SPAWNER         local (default: LocalProcessSpawner, each server runs as its
                              student's Unix account) or simple (SimpleLocalProcessSpawner:
                              no Unix accounts, homes under KMEMLAB_HUB_HOMES/<name>, all
                              servers run as the hub's user: for tests and demos only,
                              students can read each other's files)
  KMEMLAB_HUB_HOMES           homes for the simple spawner (default /tmp/kmemlab-homes)
  KMEMLAB_HUB_MEM_LIMIT       per-student memory limit (default 1G; enforced by spawners
                              that can, e.g. systemdspawner or Kubernetes; see README.md)

The single-user servers run `jupyterhub-singleuser` from the hub's own environment, which
must have kmemlab[hub] (kmemlab[lab] + jupyterhub + nbgitpuller) and, for the news pop-up
to stay away and widget clicks to answer without Nagle's 40 ms wait (kmemlab.lab_server),
`python -m kmemlab.labconfig` run once in it.
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (JupyterHub's config loader provides it)

env = os.environ.get
BIN = Path(sys.executable).parent  # the hub's environment: also the students'

# ------------------------------------------------------------------ network
c.JupyterHub.bind_url = f"http://{env('KMEMLAB_HUB_IP', '127.0.0.1')}:" \
                        f"{env('KMEMLAB_HUB_PORT', '8000')}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("KMEMLAB_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('KMEMLAB_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [env("KMEMLAB_HUB_PROXY", "configurable-http-proxy")]

# ------------------------------------------------------------------ state
data = Path(env("KMEMLAB_HUB_DATA", "/srv/kmemlab-hub"))
data.mkdir(parents=True, exist_ok=True)
c.JupyterHub.db_url = f"sqlite:///{data / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(data / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(data / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(data / "proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops the students' servers


# ------------------------------------------------------------------ who
def _names(value):
    if not value:
        return set()
    p = Path(value)
    lines = p.read_text().splitlines() if p.is_file() else value.split(",")
    return {n.strip() for n in lines if n.strip() and not n.strip().startswith("#")}


students = _names(env("KMEMLAB_HUB_STUDENTS"))
admins = _names(env("KMEMLAB_HUB_ADMINS"))
c.Authenticator.allowed_users = students | admins
c.Authenticator.admin_users = admins
auth = env("KMEMLAB_HUB_AUTH", "pam")
if auth == "shared-password":
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = env("KMEMLAB_HUB_PASSWORD", "")
elif auth == "pam":
    c.JupyterHub.authenticator_class = "pam"
else:
    raise ValueError(f"KMEMLAB_HUB_AUTH is pam or shared-password, not {auth!r}")

# ------------------------------------------------------------------ the students' servers
spawner = env("KMEMLAB_HUB_SPAWNER", "local")
if spawner == "simple":
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = \
        str(Path(env("KMEMLAB_HUB_HOMES", "/tmp/kmemlab-homes")) / "{username}")
elif spawner == "local":
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
    c.LocalProcessSpawner.create_system_users = False  # accounts come from the school
else:
    raise ValueError(f"KMEMLAB_HUB_SPAWNER is local or simple, not {spawner!r}")

c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.mem_limit = env("KMEMLAB_HUB_MEM_LIMIT", "1G")
c.Spawner.start_timeout = 120  # a 2-core machine starting 30 servers at 9:00 is slow
c.Spawner.http_timeout = 120
# kmemlab's kernels are single-threaded numpy; keep BLAS from starting a thread per core
c.Spawner.environment = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                         "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
if os.geteuid() == 0 and spawner == "simple":
    c.Spawner.args = ["--allow-root"]  # all servers run as the hub's user, here root
