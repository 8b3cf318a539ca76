"""The shared frame of every explorer: history with back/forward/undo through
snapshots, the "why" of the last step, the dmesg tail, an oops panel, reset.

Drawing: each refresh renders the current plot to PNG bytes with Agg and puts them in an
``ipywidgets.Image`` (measured faster and steadier than an ``Output`` widget with
``display(fig)``; see tests/benchmarks/test_bench_widgets.py). Single-axes plots reuse
one Figure with a fixed layout, which saves the constrained-layout pass.
"""

from __future__ import annotations

import copy
import html
import io

import ipywidgets as W
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import KernelBug, KernelPanic

DEFAULT_KERNEL = {"version": "6.12", "arch": "x86_64", "ram": "1G", "cpus": 2}


def make_kernel(**kw):
    from ..kernel import Kernel
    args = dict(DEFAULT_KERNEL)
    args.update(kw)
    return Kernel(**args)


def to_png(fig, dpi: int = 72) -> bytes:
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


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
        self.last_mark = self.k.trace.mark()
        self.samples = [(self.k.trace.mark(), self.k.buddyinfo())]
        self.last_error: BaseException | None = None
        self._figs: dict[str, tuple[Figure, object]] = {}
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.why = W.HTML(layout=W.Layout(min_height="2em"))
        self.oops = W.HTML()
        self.message = W.HTML()
        self.dmesg = W.HTML(layout=W.Layout(max_height="11em", overflow="auto",
                                            border="1px solid #ddd", padding="2px"))
        self.btn_back = W.Button(description="◀ back", tooltip="step back: the state "
                                 "before the last step (restored from a snapshot)")
        self.btn_forward = W.Button(description="forward ▶", tooltip="step forward again")
        self.btn_undo = W.Button(description="undo", icon="undo",
                                 tooltip="undo the last step and forget it")
        self.btn_reset = W.Button(description="reset", button_style="warning",
                                  tooltip="back to the state this explorer started from")
        self.btn_back.on_click(lambda _b: self.back())
        self.btn_forward.on_click(lambda _b: self.forward())
        self.btn_undo.on_click(lambda _b: self.undo())
        self.btn_reset.on_click(lambda _b: self.reset())
        head = W.HTML(f"<b>{html.escape(self.title)}</b> — {html.escape(self.k.profile.name)}"
                      f", {self.k.ram >> 20} MiB",
                      tooltip=self.tooltip)
        nav = W.HBox([self.btn_back, self.btn_forward, self.btn_undo, self.btn_reset])
        self.widget = W.VBox([
            head, self.controls(), nav, self.message, self.oops, self.image,
            W.HTML("<b>why</b>"), self.why, W.HTML("<b>dmesg</b> (last lines)"), self.dmesg])
        self.refresh()

    # -- subclass hooks ----------------------------------------------------------------
    def init_state(self) -> None:
        """Widget-side state that undo must restore too (e.g. the live allocations)."""

    def controls(self):
        return W.HBox([])

    def figure(self):
        raise NotImplementedError

    # -- figures -----------------------------------------------------------------------
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

    def png(self) -> bytes:
        return to_png(self.figure(), self.dpi)

    # -- snapshots ---------------------------------------------------------------------
    def _snap(self):
        return (self.k.snapshot(), copy.deepcopy(self.state))

    def _restore(self, snap) -> None:
        ksnap, state = snap
        self.k.restore(ksnap)
        self.state = copy.deepcopy(state)
        mark = self.k.trace.mark()
        self.samples = [s for s in self.samples if s[0] <= mark] or \
            [(mark, self.k.buddyinfo())]

    # -- actions -----------------------------------------------------------------------
    def act(self, label: str, fn):
        """Run one step: snapshot, call ``fn``, record it; KernelBug/KernelPanic go to
        the oops panel, Python misuse (ValueError/TypeError) to the message line."""
        before = self._snap()
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
        except (ValueError, TypeError) as exc:
            self.last_error = exc
            self.message.value = (f"<span style='color:#b00'>⚠ {html.escape(type(exc).__name__)}"
                                  f": {html.escape(str(exc))}</span>")
            return None
        self._history.append((before, label))
        self._future.clear()
        self.last_mark = mark
        self.samples.append((self.k.trace.mark(), self.k.buddyinfo()))
        self.refresh()
        return result

    def show_oops(self, exc) -> None:
        kind = "Kernel panic" if isinstance(exc, KernelPanic) else "Oops / kernel bug"
        report = list(getattr(exc, "report", None) or [str(exc)])
        self.oops.value = (
            "<div style='border:2px solid #c33;background:#fff3f3;padding:4px'>"
            f"<b style='color:#c33'>{kind}: {html.escape(str(exc))}</b>"
            f"{_pre(report, '#800')}<i>The simulated state is unchanged.</i></div>")

    def back(self) -> None:
        if not self._history:
            self.message.value = "nothing to step back to"
            return
        snap, label = self._history.pop()
        self._future.append((self._snap(), label))
        self._restore(snap)
        self.last_mark = min(self.last_mark, self.k.trace.mark())
        self.message.value = f"stepped back before: {html.escape(label)}"
        self.refresh()

    def forward(self) -> None:
        if not self._future:
            self.message.value = "nothing to step forward to"
            return
        snap, label = self._future.pop()
        self._history.append((self._snap(), label))
        mark = self.k.trace.mark()
        self._restore(snap)
        self.last_mark = mark
        self.message.value = f"stepped forward: {html.escape(label)}"
        self.refresh()

    def undo(self) -> None:
        if not self._history:
            self.message.value = "nothing to undo"
            return
        snap, label = self._history.pop()
        self._restore(snap)
        self.last_mark = self.k.trace.mark()
        self.message.value = f"undone: {html.escape(label)}"
        self.refresh()

    def reset(self) -> None:
        self.samples = []
        self._restore(self._initial)
        self._history.clear()
        self._future.clear()
        self.last_mark = self.k.trace.mark()
        self.oops.value = ""
        self.message.value = "reset"
        self.refresh()

    # -- display -----------------------------------------------------------------------
    def step_events(self):
        return self.k.trace.events(since=self.last_mark) if hasattr(self.k, "trace") else []

    def why_text(self) -> str:
        events = self.step_events()
        if not events:
            return "<i>no step yet</i>"
        rows = [f"<li><code>{html.escape(e.name)}</code>: {html.escape(e.why)}</li>"
                for e in events[-8:]]
        more = f"<li>… {len(events) - 8} earlier events</li>" if len(events) > 8 else ""
        return f"<ol style='margin:0'>{more}{''.join(rows)}</ol>"

    def refresh(self, redraw: bool = True) -> None:
        self.why.value = self.why_text()
        self.dmesg.value = _pre(self.k.dmesg[-12:])
        self.btn_back.disabled = not self._history
        self.btn_undo.disabled = not self._history
        self.btn_forward.disabled = not self._future
        if redraw:
            self.image.value = self.png()
        self.update_labels()

    def update_labels(self) -> None:
        """Subclasses refresh their own text outputs here."""

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)

    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display
        display(self.widget)
