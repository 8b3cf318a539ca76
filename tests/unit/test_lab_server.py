"""kmemlab.lab_server (kernel WebSockets with TCP_NODELAY) and its enabling by kmemlab.labconfig."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from kmemlab import labconfig
from kmemlab.lab_server import (
    _jupyter_server_extension_points,
    _load_jupyter_server_extension,
    without_nagle,
)


class FakeHandler:
    def __init__(self):
        self.calls = []

    def set_nodelay(self, value):
        self.calls.append(("set_nodelay", value))


class FakeConnection:
    def __init__(self, handler):
        self.websocket_handler = handler

    def connect(self):
        self.websocket_handler.calls.append(("connect",))
        return "connected"


def test_without_nagle_sets_nodelay_before_connecting():
    cls = without_nagle(FakeConnection)
    assert issubclass(cls, FakeConnection) and cls is not FakeConnection
    h = FakeHandler()
    assert cls(h).connect() == "connected"          # the base's answer, unchanged
    assert h.calls == [("set_nodelay", True), ("connect",)]
    assert without_nagle(cls) is cls                  # loading twice wraps once
    h2 = FakeHandler()
    FakeConnection(h2).connect()                      # the base class is left as it was
    assert h2.calls == [("connect",)]


def test_without_nagle_on_jupyter_servers_class():
    channels = pytest.importorskip("jupyter_server.services.kernels.connection.channels")
    base = channels.ZMQChannelsWebsocketConnection
    cls = without_nagle(base)
    assert issubclass(cls, base) and cls.connect is not base.connect
    # the class passes ServerApp's own trait check (a Type of BaseKernelWebsocketConnection)
    from jupyter_server.services.kernels.connection.base import BaseKernelWebsocketConnection
    assert issubclass(cls, BaseKernelWebsocketConnection)


def fake_serverapp(settings):
    logs = []
    log = SimpleNamespace(info=lambda m: logs.append(("info", m)),
                          warning=lambda m: logs.append(("warning", m)))
    return SimpleNamespace(web_app=SimpleNamespace(settings=settings), log=log), logs


def test_extension_replaces_the_configured_class():
    assert _jupyter_server_extension_points() == [{"module": "kmemlab.lab_server"}]
    settings = {"kernel_websocket_connection_class": FakeConnection, "other": 1}
    app, logs = fake_serverapp(settings)
    _load_jupyter_server_extension(app)
    cls = settings["kernel_websocket_connection_class"]
    assert issubclass(cls, FakeConnection) and cls is not FakeConnection
    assert settings["other"] == 1
    assert logs == [("info", "kmemlab: kernel WebSockets send each message at once "
                             "(TCP_NODELAY)")]


def test_extension_without_a_connection_class_changes_nothing():
    settings = {"other": 1}
    app, logs = fake_serverapp(settings)
    _load_jupyter_server_extension(app)
    assert settings == {"other": 1}
    assert logs and logs[0][0] == "warning" and "Nagle" in logs[0][1]


def test_labconfig_writes_both_files(tmp_path):
    news, server = labconfig.configure(tmp_path)
    assert news == tmp_path / "share/jupyter/lab/settings/overrides.d/kmemlab.json"
    assert server == tmp_path / "etc/jupyter/jupyter_server_config.d/kmemlab.json"
    assert json.loads(server.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"kmemlab.lab_server": True}}}
    assert json.loads(news.read_text())["@jupyterlab/apputils-extension:notification"][
        "fetchNews"] == "false"
    before = server.stat().st_mtime_ns
    time.sleep(0.01)
    labconfig.configure(tmp_path)                     # idempotent: not rewritten
    assert server.stat().st_mtime_ns == before


def test_labconfig_main_reports_an_unwritable_environment(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert labconfig.main([str(blocker)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kmemlab.labconfig: cannot write the Jupyter config:")
    assert labconfig.main([str(tmp_path / "env")]) == 0
    out = capsys.readouterr().out
    assert "kmemlab.lab_server" in out
    assert (tmp_path / "env/etc/jupyter/jupyter_server_config.d/kmemlab.json").is_file()


# ------------------------------------------------------------------ a real server
def _server_socket_nodelay(pid: int, peer: tuple) -> int:
    """TCP_NODELAY of the server process's socket connected to *peer*, read through a
    copy of its file descriptor (pidfd_getfd, Linux >= 5.6)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(438, pidfd, int(name), 0)   # SYS_pidfd_getfd
            if fd < 0:
                pytest.skip(f"pidfd_getfd: {os.strerror(ctypes.get_errno())}")
            s = socket.socket(fileno=fd)
            try:
                if s.family == socket.AF_INET and s.type == socket.SOCK_STREAM \
                        and s.getpeername() == peer:
                    return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            except OSError:
                pass
            finally:
                s.close()
    finally:
        os.close(pidfd)
    raise AssertionError(f"no socket of {pid} connected to {peer}")


def _kernel_socket_nodelay(tmp_path: Path, env: dict) -> tuple[int, str]:
    """Start `jupyter server`, open a kernel WebSocket, ask kernel_info, and read the
    server side's TCP_NODELAY; also returns the server's log."""
    pytest.importorskip("jupyter_server")
    from tornado.websocket import websocket_connect

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "t" + os.urandom(8).hex()
    for sub in ("rt", "data"):
        (tmp_path / sub).mkdir(exist_ok=True)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), **env}
    env.pop("JUPYTER_TOKEN", None)
    log = open(tmp_path / "server.log", "w")
    cmd = [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, "jupyter server did not start"
                time.sleep(0.2)
        req = urllib.request.Request(f"{base}/api/kernels?token={token}", data=b"{}",
                                     method="POST")
        kid = json.load(urllib.request.urlopen(req, timeout=60))["id"]

        async def probe():
            ws = await websocket_connect(
                f"ws://127.0.0.1:{port}/api/kernels/{kid}/channels?token={token}")
            msg = {"header": {"msg_id": "probe", "username": "t", "session": "s",
                              "msg_type": "kernel_info_request", "version": "5.3"},
                   "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell",
                   "buffers": []}
            await ws.write_message(json.dumps(msg))
            while True:   # the reply means the server's connect() has run
                m = await asyncio.wait_for(ws.read_message(), 60)
                assert m is not None, "the kernel WebSocket closed"
                if isinstance(m, str) and json.loads(m)["msg_type"] == "kernel_info_reply":
                    break
            peer = ws.protocol.stream.socket.getsockname()
            value = _server_socket_nodelay(proc.pid, peer)
            ws.close()
            return value

        value = asyncio.run(probe())
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return value, (tmp_path / "server.log").read_text()


needs_linux_pidfd = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and hasattr(os, "pidfd_open")),
    reason="reads the server's socket options with pidfd_getfd (Linux)")


@needs_linux_pidfd
def test_kernel_websocket_has_nodelay_with_the_config_labconfig_writes(tmp_path):
    labconfig.configure(tmp_path / "env")
    value, log = _kernel_socket_nodelay(tmp_path, {
        "JUPYTER_CONFIG_DIR": str(tmp_path / "env" / "etc" / "jupyter")})
    assert "kmemlab: kernel WebSockets send each message at once" in log
    assert value == 1


@needs_linux_pidfd
def test_kernel_websocket_without_the_extension_waits_on_nagle(tmp_path):
    """The problem the extension solves, on this jupyter_server and tornado (if they ever
    switch Nagle off themselves, the extension is no longer needed)."""
    value, log = _kernel_socket_nodelay(tmp_path, {"JUPYTER_NO_CONFIG": "1"})
    assert "kmemlab: kernel WebSockets" not in log
    if value:
        pytest.skip("this jupyter_server/tornado sets TCP_NODELAY on kernel WebSockets itself")
    assert value == 0
