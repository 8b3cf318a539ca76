"""A Jupyter server extension: kernel messages reach the browser at once, not 40 ms late.

A click in an explorer is one comm message to the kernel and a few back (``status: busy``,
the widget updates, ``status: idle``), each a separate small WebSocket frame. Tornado
switches Nagle's algorithm back on for every connection once its HTTP request is answered
(``tornado/http1connection.py``: ``HTTP1Connection._read_message`` →
``stream.set_nodelay(False)``), and a kernel WebSocket starts as an HTTP request; the
WebSocket's own ``set_nodelay`` is left to the application (``tornado/websocket.py``:
``WebSocketHandler.set_nodelay``: "small messages may be delayed ... 200-500ms delays"),
and jupyter_server never calls it. So the second small frame of a reply waits in the
server's TCP stack until the browser acknowledges the first, and a browser delays that
acknowledgement (Linux: ``TCP_DELACK_MIN``, 40 ms). Measured on the 2-core machine this lab
is developed on (JupyterLab 4.6, jupyter_server 2.21, tornado 6.6, Chromium): the empty comm
round trip of ``make e2e-bench`` took 62 ms at the median without this extension and 14 ms
with it; an ``execute_request`` over a kernel WebSocket 44 ms against 5.6 ms (the kernel
itself, over ZMQ, answers in 4 ms).

The extension sets ``TCP_NODELAY`` on each kernel WebSocket when it opens, by giving the
server a subclass of whatever kernel WebSocket connection class it was configured with
(``ServerApp.kernel_websocket_connection_class``: ZMQ channels, or the gateway's). It only
changes when bytes leave the server, never what is sent.

``python -m kmemlab.labconfig`` enables it for an environment (a
``jupyter_server_config.d`` file, as any server extension is enabled); ``make lab``,
``binder/postBuild``, the hub image and ``kmemlab lab`` run that. This module imports nothing
of Jupyter's: the server hands it the classes.
"""

from __future__ import annotations

from typing import Any

MODULE = "kmemlab.lab_server"


def without_nagle(connection_class: type) -> type:
    """A subclass of the kernel WebSocket connection class *connection_class* whose
    ``connect()`` (called by ``KernelWebsocketHandler.open`` once the WebSocket handshake
    is done) first sets ``TCP_NODELAY`` on the WebSocket, then connects as before."""
    if getattr(connection_class, "kmemlab_no_delay", False):
        return connection_class        # already wrapped (the extension loaded twice)

    def connect(self):
        self.websocket_handler.set_nodelay(True)
        return connection_class.connect(self)

    return type(connection_class.__name__ + "NoDelay", (connection_class,),
                {"connect": connect, "kmemlab_no_delay": True,
                 "__module__": __name__, "__doc__": without_nagle.__doc__})


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """jupyter_server's entry point: this module is the extension."""
    return [{"module": MODULE}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Called by jupyter_server after the web application is made: its handlers read the
    connection class from the application's settings at each new kernel WebSocket."""
    settings = serverapp.web_app.settings
    base = settings.get("kernel_websocket_connection_class")
    if base is None:                   # a server without kernel WebSockets of this kind
        serverapp.log.warning("kmemlab: no kernel_websocket_connection_class; "
                              "kernel messages keep tornado's default (Nagle's algorithm)")
        return
    settings["kernel_websocket_connection_class"] = without_nagle(base)
    serverapp.log.info("kmemlab: kernel WebSockets send each message at once (TCP_NODELAY)")
