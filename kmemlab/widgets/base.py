"""The shared frame of every explorer: history with back/forward/undo through
snapshots, the "why" of the last step, the dmesg tail, an oops panel, reset.

Drawing: each refresh puts the current plot as PNG bytes into an ``ipywidgets.Image``
(faster and steadier than an ``Output`` widget with ``display(fig)``). A view whose plot
has an ``update_*`` function keeps its figure between clicks (:meth:`Explorer.kept`): the
update changes the artists in place and :class:`~kmemlab.widgets.render.FigureRenderer`
repaints only the pixels they cover, the same picture a full draw gives; when nothing
changed, nothing is drawn and the Image is not sent again. Single-axes plots reuse one
Figure with a fixed layout (:meth:`Explorer.axes`), which saves the constrained-layout
pass. Timings: tests/benchmarks/test_bench_widgets.py (kernel side) and
tests/e2e/test_bench_clicks.py (click to picture in a browser).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import pickle
import traceback

import ipywidgets as W
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import KernelBug, KernelPanic
from ..i18n import _, get_language, translate_dmesg
from ..profiles import DEFAULT_ARCH, DEFAULT_VERSION
from ..user.malloc import MallocAbort
from ..user.process import ProcessKilled
from .render import FigureRenderer, encode_png

DEFAULT_KERNEL = {"version": DEFAULT_VERSION, "arch": DEFAULT_ARCH, "ram": "1G", "cpus": 2}
DMESG_LINES = 12      # the dmesg box shows this many of the newest lines, all visible
# A user process that dies (glibc's malloc_printerr → SIGABRT, a SIGSEGV): the kernel is
# fine, the process is gone and its pages went back. Not a kernel oops.
USER_DEATHS = (MallocAbort, ProcessKilled)
BUG_REPORT = "this is a kmemlab bug, please report it"
# In a notebook the snapshot for the next step is taken this long after a click: by then
# the IOPub thread has sent the click's messages (pickle holds the GIL for all of a
# snapshot, 10 ms at 1 GiB and 45 ms at 64 GiB, and the picture would wait for it).
SNAPSHOT_DELAY = 0.05


def make_kernel(**kw):
    from ..kernel import Kernel
    args = dict(DEFAULT_KERNEL)
    args.update(kw)
    return Kernel(**args)


def kernel_fingerprint(k) -> tuple:
    """Counters of the public API that any change of the kernel's state moves: the
    trace position (every allocator call leaves an event), dmesg, free pages and
    watermarks, allocated and free blocks, slab objects, the processes and their heaps,
    what was booted (``k.restore`` puts new subsystem objects in place)."""
    pa = k.page_alloc
    procs = tuple((pid, p.alive, p.rss_pages, len(p.events))
                  for pid, p in sorted(k.user.processes.items()))
    return (id(pa), k.trace.mark(), k.trace.enabled, len(k.dmesg),
            k.nr_free_pages(include_pcp=True), len(pa.allocated), len(pa.free_blocks),
            tuple((z.min, z.low, z.high, z.free_pages) for z in k.zone_list),
            sum(c.objects for c in k.slab_caches.values()), procs,
            k.profile.name, k.ram, k.cmdline)


class FrozenKernel:
    """A snapshot of a kernel kept as its pickle: one bytes object. An explorer keeps a
    snapshot per step for undo; as live objects (``k.snapshot()``: the kernel's whole
    graph) they made every full garbage collection walk them all, a pause of 100-350 ms
    every few dozen clicks, and more the longer a notebook is used."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def thaw(self):
        """The kernel as it was (what ``k.snapshot()`` returned then)."""
        return pickle.loads(self.data)


def freeze(k):
    """A snapshot of ``k`` for :meth:`thaw`: its pickle (``k.snapshot()`` is a pickle
    round trip of the same machine), or ``k.snapshot()`` itself for a machine pickle
    cannot copy (the kernel deep-copies it then)."""
    try:
        return FrozenKernel(pickle.dumps(k, pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - anything pickle refuses: the kernel's own copy
        return k.snapshot()


def thaw(snap):
    """The kernel a :func:`freeze` snapshot holds, for ``k.restore``."""
    return snap.thaw() if isinstance(snap, FrozenKernel) else snap


def to_png(fig, dpi: int = 72) -> bytes:
    """PNG bytes of a whole figure at ``dpi`` (what ``savefig`` draws)."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    if fig.dpi != dpi:
        fig.set_dpi(dpi)
    fig.canvas.draw()
    return encode_png(np.asarray(fig.canvas.buffer_rgba()))


def _pre(lines, color="#222") -> str:
    body = html.escape("\n".join(lines))
    return (f"<pre style='margin:0;font-size:11px;line-height:1.25;color:{color};"
            f"white-space:pre-wrap'>{body}</pre>")


class Explorer:
    """Base of the explorers. Subclasses set ``title``/``tooltip``, build
    ``controls()`` and ``figure()``, and call :meth:`act` for every state change."""

    title = "explorer"
    tooltip = ""
    dpi = 72

    def __init__(self, k=None, **kernel_kw):
        self.k = k if k is not None else make_kernel(**kernel_kw)
        self.state: dict = {}
        self.init_state()
        self._history: list[tuple[object, str]] = []   # (snapshot before the step, label)
        self._future: list[tuple[object, str]] = []    # (snapshot after the step, label)
        self._initial = self._snap()
        self._pre = None          # (fingerprint, snapshot) for the next step
        self._snap_timer = None   # the pending prepare_snapshot (see schedule_snapshot)
        self.last_mark = self.k.trace.mark()
        self.samples = [(self.k.trace.mark(), self.k.buddyinfo())]
        self.last_error: BaseException | None = None
        self._figs: dict[str, tuple[Figure, object]] = {}
        self._kept: dict[str, Figure] = {}
        self._deferred: bool | None = None   # inside one_frame(): a redraw is owed
        self.renderer = FigureRenderer(self.dpi)
        self.renderer.defer = True   # settled after the picture is sent (schedule_snapshot)
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.why = W.HTML(layout=W.Layout(min_height="2em"))
        self.oops = W.HTML()
        self.message = W.HTML()
        # No max height: the box grows to the DMESG_LINES newest lines, so the newest is
        # always in view (a scrolled box opens at its top, i.e. at the oldest lines).
        self.dmesg = W.HTML(layout=W.Layout(border="1px solid #ddd", padding="2px"))
        self.btn_back = W.Button(description=_("◀ back"), tooltip=_("step back: the state "
                                 "before the last step (restored from a snapshot)"))
        self.btn_forward = W.Button(description=_("forward ▶"), tooltip=_("step forward again"))
        self.btn_undo = W.Button(description=_("undo"), icon="undo",
                                 tooltip=_("undo the last step and forget it"))
        self.btn_reset = W.Button(description=_("reset"), button_style="warning",
                                  tooltip=_("back to the state this explorer started from"))
        self.on_click(self.btn_back, self.back)
        self.on_click(self.btn_forward, self.forward)
        self.on_click(self.btn_undo, self.undo)
        self.on_click(self.btn_reset, self.reset)
        self.head = W.HTML(self.head_html(), tooltip=_(self.tooltip))
        nav = W.HBox([self.btn_back, self.btn_forward, self.btn_undo, self.btn_reset])
        self.widget = W.VBox([
            self.head, self.controls(), nav, self.message, self.oops, self.image,
            W.HTML(_("<b>why</b>")), self.why, W.HTML(_("<b>dmesg</b> (last lines)")), self.dmesg])
        self.refresh()
        self.schedule_snapshot()

    # -- callbacks ---------------------------------------------------------------------
    def callback(self, fn):
        """Wrap a widget callback: whatever it raises is shown in the explorer (never only
        in JupyterLab's log console, where a learner does not look). After it, once the
        new picture is on its way, the snapshot the next step will need is taken."""
        def guarded(*args, **kw):
            try:
                return fn(*args, **kw)
            except Exception as exc:  # noqa: BLE001 - shown to the user, see show_error
                self.show_error(exc)
                return None
            finally:
                self.schedule_snapshot()
        return guarded

    def on_click(self, button, fn) -> None:
        """``button.on_click`` that calls ``fn()`` through :meth:`callback`."""
        button.on_click(self.callback(lambda _b: fn()))

    def on_change(self, widget, fn) -> None:
        """``widget.observe(..., names="value")`` that calls ``fn()`` through
        :meth:`callback`."""
        widget.observe(self.callback(lambda _c: fn()), names="value")

    # -- subclass hooks ----------------------------------------------------------------
    def head_html(self) -> str:
        """The title line; follows the current kernel (a boot can change it)."""
        return (f"<b>{html.escape(_(self.title))}</b> — {html.escape(self.k.profile.name)}, "
                f"{self.k.ram >> 20} MiB")

    def init_state(self) -> None:
        """Widget-side state that undo must restore too (e.g. the live allocations)."""

    def controls(self):
        return W.HBox([])

    def figure(self):
        raise NotImplementedError

    # -- figures -----------------------------------------------------------------------
    @staticmethod
    def new_axes(figsize=(9.5, 6.0), rect=(0.1, 0.09, 0.5, 0.8)):
        """A new single-axes Figure with a fixed layout (for a figure :meth:`kept`:
        never one that :meth:`axes` hands out again and clears)."""
        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        return fig.add_axes(rect)

    def axes(self, key: str, figsize=(9.5, 6.0), rect=(0.1, 0.09, 0.5, 0.8)):
        """A reusable single-axes Figure with a fixed layout (cleared on each call)."""
        if key not in self._figs:
            fig = Figure(figsize=figsize)
            FigureCanvasAgg(fig)
            self._figs[key] = (fig, fig.add_axes(rect))
        fig, ax = self._figs[key]
        for extra in fig.axes[1:]:
            extra.remove()
        ax.clear()
        return ax

    def frame(self):
        """(figure, what changed since the last frame) of the current view. ``None`` for
        "anything": the default draws ``figure()`` whole; views whose plot can be brought
        up to date in place use :meth:`kept`."""
        return self.figure(), None

    def kept(self, key: str, build, update):
        """The figure of view ``key``, kept between frames: ``update(fig)`` brings it up
        to date in place and returns what it changed (a ``kmemlab.plot.update_*``
        function), or None, and then ``build()`` draws it anew. Only the renderer and
        ``update`` may touch a kept figure (build it in a Figure of its own)."""
        key = (key, get_language())      # a figure's texts are in the language it was drawn in
        fig = self._kept.get(key)
        if fig is not None:
            self.renderer.settle()     # the last frame, as drawn, before it changes
            changed = update(fig)
            if changed is not None:
                return fig, changed
        fig = self._kept[key] = build()
        return fig, None

    def png(self) -> bytes:
        fig, changed = self.frame()
        return self.renderer.update(fig, changed)

    # -- snapshots ---------------------------------------------------------------------
    def _snap(self):
        return (freeze(self.k), copy.deepcopy(self.state))

    def fingerprint(self) -> tuple:
        """Cheap public counters that every change of the kernel, or of this explorer's
        state, moves (see :func:`kernel_fingerprint`)."""
        return kernel_fingerprint(self.k) + (repr(self.state),)

    def prepare_snapshot(self) -> None:
        """Take the snapshot the next step starts from now, after a click's picture was
        sent (the machine's pickle, :func:`freeze`: 5 ms at 1 GiB, 20 ms at 64 GiB, which
        then is not part of the next click's wait). The next step uses it only if the fingerprint
        says nothing changed in between (a notebook cell may use the same kernel)."""
        fp = self.fingerprint()
        if self._pre is None or self._pre[0] != fp:
            self._pre = (fp, self._snap())

    def schedule_snapshot(self) -> None:
        """Settle the renderer (:meth:`FigureRenderer.settle`) and prepare the next
        step's snapshot once this click's messages are out: in a
        running event loop (a Jupyter kernel) SNAPSHOT_DELAY seconds from now, after the
        comm handler has returned; elsewhere (scripts, tests) at once. A click that comes
        first takes its own snapshot (:meth:`_before`), so undo is exact either way."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.renderer.settle()
            self.prepare_snapshot()
            return
        if self._snap_timer is not None:
            self._snap_timer.cancel()
        self._snap_timer = loop.call_later(SNAPSHOT_DELAY, self._deferred_snapshot)

    def _deferred_snapshot(self) -> None:
        self._snap_timer = None
        try:
            self.renderer.settle()
            self.prepare_snapshot()
        except Exception as exc:  # noqa: BLE001 - shown to the user, see show_error
            self.show_error(exc)

    def _before(self):
        """The snapshot of the state before a step: the prepared one if still true."""
        pre, self._pre = self._pre, None
        if pre is not None and pre[0] == self.fingerprint():
            return pre[1]
        return self._snap()

    def _restore(self, snap) -> None:
        ksnap, state = snap
        self.k.restore(thaw(ksnap))
        self.state = copy.deepcopy(state)
        mark = self.k.trace.mark()
        self.samples = [s for s in self.samples if s[0] <= mark] or \
            [(mark, self.k.buddyinfo())]

    # -- actions -----------------------------------------------------------------------
    def act(self, label: str, fn):
        """Run one step: snapshot, call ``fn``, record it. What it raises is shown, never
        swallowed: KernelBug/KernelPanic in the oops panel (the kernel kept its state), a
        user process killed by a signal (glibc abort, SIGSEGV) as a recorded step (the
        process is gone, the kernel is fine), Python misuse (ValueError/TypeError) on the
        message line, anything else as a kmemlab bug, with the state rolled back."""
        before = self._before()
        mark = self.k.trace.mark()
        self.oops.value = ""
        self.message.value = ""
        self.last_error = None
        try:
            result = fn()
        except (KernelBug, KernelPanic) as exc:
            self.last_error = exc
            self.show_oops(exc)
            self.refresh(redraw=False)
            return None
        except USER_DEATHS as exc:
            self.last_error = exc
            self._record(before, f"{label}: killed by {exc.signal}", mark)
            self.show_user_death(exc)
            return None
        except (ValueError, TypeError) as exc:
            self.last_error = exc
            self.message.value = (f"<span style='color:#b00'>⚠ {html.escape(type(exc).__name__)}"
                                  f": {html.escape(str(exc))}</span>")
            return None
        except Exception as exc:  # noqa: BLE001 - a bug of kmemlab: show it, roll back
            self._restore(before)
            self.show_error(exc, rolled_back=True)
            return None
        self._record(before, label, mark)
        return result

    def _record(self, before, label: str, mark) -> None:
        self._history.append((before, label))
        self._future.clear()
        self.last_mark = mark
        self.samples.append((self.k.trace.mark(), self.k.buddyinfo()))
        self.refresh()

    def show_oops(self, exc) -> None:
        kind = _("Kernel panic") if isinstance(exc, KernelPanic) else _("Oops / kernel bug")
        report = list(getattr(exc, "report", None) or [str(exc)])
        self.oops.value = (
            "<div style='border:2px solid #c33;background:#fff3f3;padding:4px'>"
            f"<b style='color:#c33'>{kind}: {html.escape(str(exc))}</b>"
            f"{_pre(report, '#800')}<i>{_('The simulated state is unchanged.')}</i></div>")

    def show_user_death(self, exc) -> None:
        """A user-space process was killed (glibc's abort, SIGSEGV): say what it is."""
        sig = getattr(exc, "signal", "SIGABRT")
        what = getattr(exc, "message", None) or str(exc)
        core = {"SIGABRT": "Aborted (core dumped)",
                "SIGSEGV": "Segmentation fault (core dumped)"}.get(sig, f"Killed ({sig})")
        kind = "User-space abort" if sig == "SIGABRT" else "User-space crash"
        self.oops.value = (
            "<div style='border:2px solid #d80;background:#fff8ec;padding:4px'>"
            f"<b style='color:#a50'>{kind}: {html.escape(what)} — the process was "
            f"killed with {html.escape(sig)}; the kernel is unharmed</b>"
            f"{_pre([what, core], '#630')}"
            "<i>The kernel tore the process down (exit_mmap): every page and page table it "
            "had went back to the buddy allocator. <b>undo</b> brings the process back.</i>"
            "</div>")

    def show_error(self, exc: BaseException, rolled_back: bool = False) -> None:
        """An exception that is neither a simulated kernel bug nor API misuse: a bug of
        kmemlab itself. Shown with its type, message and traceback."""
        self.last_error = exc
        if isinstance(exc, (KernelBug, KernelPanic)):
            self.show_oops(exc)
            return
        name = html.escape(type(exc).__name__)
        if isinstance(exc, (ValueError, TypeError)):
            self.message.value = (f"<span style='color:#b00'>⚠ {name}: "
                                  f"{html.escape(str(exc))}</span>")
            return
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        state = ("The simulated state was rolled back to before this step."
                 if rolled_back else "")
        self.oops.value = (
            "<div style='border:2px solid #666;background:#f4f4f4;padding:4px'>"
            f"<b style='color:#b00'>⚠ {name}: {html.escape(str(exc))}</b><br>"
            f"<i>{BUG_REPORT} (with the traceback below). {state}</i>"
            f"<details><summary>traceback</summary>{_pre(''.join(tb).splitlines(), '#444')}"
            "</details></div>")

    def back(self) -> None:
        if not self._history:
            self.message.value = _("nothing to step back to")
            return
        snap, label = self._history.pop()
        self._future.append((self._snap(), label))
        self._restore(snap)
        self.last_mark = min(self.last_mark, self.k.trace.mark())
        self.message.value = _("stepped back before: {}").format(html.escape(label))
        self.refresh()

    def forward(self) -> None:
        if not self._future:
            self.message.value = _("nothing to step forward to")
            return
        snap, label = self._future.pop()
        self._history.append((self._snap(), label))
        mark = self.k.trace.mark()
        self._restore(snap)
        self.last_mark = mark
        self.message.value = _("stepped forward: {}").format(html.escape(label))
        self.refresh()

    def undo(self) -> None:
        if not self._history:
            self.message.value = _("nothing to undo")
            return
        snap, label = self._history.pop()
        self._restore(snap)
        self.last_mark = self.k.trace.mark()
        self.message.value = _("undone: {}").format(html.escape(label))
        self.refresh()

    def reset(self) -> None:
        self.samples = []
        self._restore(self._initial)
        self._history.clear()
        self._future.clear()
        self.last_mark = self.k.trace.mark()
        self.oops.value = ""
        self.message.value = _("reset")
        self.refresh()

    # -- display -----------------------------------------------------------------------
    def step_events(self):
        return self.k.trace.events(since=self.last_mark)

    def why_text(self) -> str:
        events = self.step_events()
        if not events:
            return _("<i>no step yet</i>")
        rows = [f"<li><code>{html.escape(e.name)}</code>: {html.escape(e.why)}</li>"
                for e in events[-8:]]
        more = _("<li>… {} earlier events</li>").format(len(events) - 8) if len(events) > 8 else ""
        return f"<ol style='margin:0'>{more}{''.join(rows)}</ol>"

    def dmesg_html(self) -> str:
        lines = self.k.dmesg
        tail = [translate_dmesg(line) for line in lines[-DMESG_LINES:]]
        more = len(lines) - len(tail)
        note = (f"<div style='font-size:10px;color:#777'>… {more} earlier line"
                f"{'s' if more != 1 else ''} in <code>k.dmesg</code></div>" if more else "")
        return note + _pre(tail)

    @contextlib.contextmanager
    def one_frame(self):
        """Steps taken inside draw one picture at the end (a double free is two steps,
        the first one's picture would be replaced at once)."""
        outer = self._deferred is not None
        if not outer:
            self._deferred = False
        try:
            yield
        finally:
            if not outer:
                redraw, self._deferred = self._deferred, None
                if redraw:
                    self.image.value = self.png()

    def refresh(self, redraw: bool = True) -> None:
        self.head.value = self.head_html()
        self.why.value = self.why_text()
        self.dmesg.value = self.dmesg_html()
        self.btn_back.disabled = not self._history
        self.btn_undo.disabled = not self._history
        self.btn_forward.disabled = not self._future
        if redraw and self._deferred is not None:
            self._deferred = True
        elif redraw:
            self.image.value = self.png()
        self.update_labels()

    def update_labels(self) -> None:
        """Subclasses refresh their own text outputs here."""

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)

    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display
        display(self.widget)
