"""The quiz widget (ipywidgets): a view of a :class:`~kmemlab.quiz.session.Session`.

Practice mode: a *Check* button per question, feedback and the explanation once the
answer is right or the attempts are used up. Graded mode: no feedback until *Submit*;
then every question shows its result and the score, and the submission is saved at once
to the responses file. Re-running the cell (or restarting the kernel) shows that saved
submission, locked, with a *New attempt* button only while the quiz's ``attempts``
allow. Responses stay in Python (``widget.session``); *Save* writes them as JSON for the
instructor.

Every ipywidgets model is a comm message for the kernel to send and a model for the
browser to build, and each widget makes a Layout and a Style model of its own unless it
is given one. The parts here never change their layout or style (only the *New attempt*
button's, which keeps its own), so widgets that look alike share one Layout and one
Style model: half the models of a quiz, the same page.
"""

from __future__ import annotations

import ipywidgets as w

from ..i18n import _
from .export import markdown_html
from .model import Quiz, Result
from .session import AttemptError, Session


class QuizWidget:
    """Build with :func:`kmemlab.quiz.show`. Parts a test can drive: ``inputs[qid]``
    (RadioButtons / list of Checkbox / Text), ``check_buttons[qid]``, ``feedback[qid]``,
    ``submit_button``, ``save_path``, ``save_button``, ``summary``."""

    def __init__(self, quiz: Quiz, student: str | None = None, mode: str | None = None,
                 save=None) -> None:
        path = str(save) if save is not None else \
            f"{quiz.id}-{student or 'anonymous'}.json"
        graded = (mode or quiz.mode) == "graded"
        self.session = Session(quiz, student, mode, path=path if graded else None)
        self.quiz = quiz
        self.inputs: dict[str, object] = {}
        self.check_buttons: dict[str, w.Button] = {}
        self.feedback: dict[str, w.HTML] = {}
        self._models: dict[tuple, object] = {}
        rows = [self._html(self._header())]
        for n, v in enumerate(self.session.variants, 1):
            rows.append(self._question_box(n, v))
        self.summary = self._html(self._summary_text())
        self.submit_button = w.Button(description=_("Submit") if self.session.mode == "graded"
                                      else _("Finish"), button_style="primary",
                                      layout=self._layout(), style=self._style(w.Button))
        self.submit_button.on_click(lambda _b: self.submit())
        self.save_path = w.Text(value=path, description=_("Save to"),
                                layout=self._layout(width="420px"),
                                style=self._style(w.Text),
                                disabled=graded)  # graded: the file the history lives in
        self.save_button = w.Button(description=_("Save responses"), icon="save",
                                    layout=self._layout(), style=self._style(w.Button))
        self.save_button.on_click(lambda _b: self.save())
        # its own Layout: _lock_submitted and retake show and hide it
        self.retake_button = w.Button(description=_("New attempt"), icon="redo",
                                      layout=w.Layout(display="none"),
                                      style=self._style(w.Button))
        self.retake_button.on_click(lambda _b: self.retake())
        self.status = self._html()
        rows += [w.HBox([self.submit_button, self.summary, self.retake_button],
                        layout=self._layout()),
                 w.HBox([self.save_path, self.save_button], layout=self._layout()),
                 self.status]
        self.box = w.VBox(rows, layout=self._layout(max_width="820px"))
        if self.session.resumed:  # submitted before (this kernel or an earlier one)
            self._fill(self.session.answers)
            self._lock_submitted()

    # ---------------------------------------------------------------- building
    def _layout(self, **traits) -> w.Layout:
        """The one Layout of the parts laid out with ``traits`` (never changed later)."""
        key = ("layout", *sorted(traits.items()))
        if key not in self._models:
            self._models[key] = w.Layout(**traits)
        return self._models[key]

    def _style(self, widget_cls):
        """The one default style (HTMLStyle, ButtonStyle, ...) of the ``widget_cls`` parts."""
        key = ("style", widget_cls)
        if key not in self._models:
            self._models[key] = widget_cls.class_traits()["style"].klass()
        return self._models[key]

    def _html(self, value: str = "") -> w.HTML:
        return w.HTML(value, layout=self._layout(), style=self._style(w.HTML))

    def _header(self) -> str:
        s = self.session
        # markdown_html strips: keep the space outside
        who = f" — {markdown_html(s.student)}" if s.student else ""
        mode = (_("graded: your answers are checked when you press <b>Submit</b>")
                if s.mode == "graded" else
                _("practice: press <b>Check</b> for feedback")
                + (_(" ({} attempts per question)").format(self.quiz.attempts) if self.quiz.attempts
                   else ""))
        desc = (f"<p>{markdown_html(self.quiz.text('description'))}</p>"
                if self.quiz.description else "")
        return f"<h3>{markdown_html(self.quiz.text('title'))}{who}</h3>{desc}<p><i>{mode}</i></p>"

    def _question_box(self, n: int, v) -> w.VBox:
        q = v.question
        qid = q.id
        unit = _(" <i>(in {})</i>").format(q.unit) if q.unit else ""
        prompt = self._html(f"<b>{n}.</b> {markdown_html(q.render(v.params, lang=True))}"
                            f"{unit} " + _("<small>[{:g} pt]</small>").format(q.points))
        if q.type == "single":
            labels = [q.choice_label(c) for c in v.choices]   # the file's text is the value
            inp = w.RadioButtons(options=v.choices if labels == v.choices else
                                 list(zip(labels, v.choices)), value=None,
                                 layout=self._layout(width="auto"),
                                 style=self._style(w.RadioButtons))
            parts = [inp]
        elif q.type == "multiple":
            inp = [w.Checkbox(value=False, description=q.choice_label(c), indent=False,
                              layout=self._layout(width="auto"),
                              style=self._style(w.Checkbox)) for c in v.choices]
            parts = list(inp)
        else:
            inp = w.Text(placeholder=_("answer in {}").format(q.unit) if q.unit else _("answer"),
                         layout=self._layout(width="320px"), style=self._style(w.Text))
            parts = [inp]
        self.inputs[qid] = inp
        fb = self._html()
        self.feedback[qid] = fb
        if self.session.mode == "practice":
            btn = w.Button(description=_("Check"), layout=self._layout(width="auto",
                                                                        min_width="90px"),
                           style=self._style(w.Button))
            btn.on_click(lambda _b, qid=qid: self.check(qid))
            self.check_buttons[qid] = btn
            parts.append(w.HBox([btn, fb], layout=self._layout()))
        else:
            parts.append(fb)
        return w.VBox([prompt, *parts], layout=self._layout(margin="0 0 12px 0"))

    # ---------------------------------------------------------------- values
    def value(self, qid: str):
        inp = self.inputs[qid]
        if isinstance(inp, list):
            return [c for c, cb in zip(self.session.by_id[qid].choices, inp) if cb.value]
        return inp.value

    def _set_disabled(self, qid: str) -> None:
        inp = self.inputs[qid]
        for x in inp if isinstance(inp, list) else [inp]:
            x.disabled = True
        if qid in self.check_buttons:
            self.check_buttons[qid].disabled = True

    def _show(self, qid: str, r: Result, final: bool) -> None:
        color = "#087f23" if r.correct else "#b00020"
        text = f"<span style='color:{color}'>{markdown_html(_(r.feedback))}</span>"
        left = self.session.attempts_left(qid)
        if not r.correct and not final and left:
            left_text = _("1 attempt left") if left == 1 else _("{} attempts left").format(left)
            text += f" <small>{left_text}</small>"
        q = self.session.by_id[qid].question
        if not r.correct and q.hint and not final:
            text += _("<br><small>Hint: {}</small>").format(markdown_html(q.text("hint")))
        if final and r.explanation:
            expl = q.text("explanation", r.explanation)
            text += f"<div style='margin-top:4px'>{markdown_html(expl)}</div>"
        self.feedback[qid].value = text

    def _summary_text(self) -> str:
        got, mx = self.session.score()
        if self.session.mode == "graded" and not self.session.submitted:
            answered = sum(1 for v in self.session.variants if self._answered(v.question.id))
            return _("&nbsp;{} of {} answered").format(answered, len(self.session.variants))
        return _("&nbsp;<b>Score: {:g} / {:g}</b>").format(got, mx)

    def _answered(self, qid: str) -> bool:
        try:
            val = self.value(qid)
        except KeyError:
            return False
        return val not in (None, "", [])

    # ---------------------------------------------------------------- actions
    def check(self, qid: str) -> Result | None:
        """Practice mode: check the current value of question ``qid``."""
        if self.session.done(qid):
            return self.session.results.get(qid)
        r = self.session.answer(qid, self.value(qid))
        if r is None:
            return None
        done = self.session.done(qid)
        self._show(qid, r, final=done)
        if done:
            self._set_disabled(qid)
        self.summary.value = self._summary_text()
        return r

    def submit(self) -> dict[str, Result]:
        """Grade everything (graded mode: reveals correctness now) and lock the quiz."""
        if not self.session.submitted:
            for v in self.session.variants:
                qid = v.question.id
                if not self.session.done(qid) and self._answered(qid):
                    self.session.answer(qid, self.value(qid))
            try:
                self.session.submit()
            except AttemptError as exc:
                self.status.value = f"<span style='color:#b00020'>{markdown_html(str(exc))}</span>"
                return dict(self.session.results)
        self._lock_submitted()
        return dict(self.session.results)

    def _lock_submitted(self) -> None:
        """Show the submitted attempt's results, inputs locked; offer a retake if allowed."""
        s = self.session
        for qid, r in s.results.items():
            self._show(qid, r, final=True)
            self._set_disabled(qid)
        self.submit_button.disabled = True
        self.summary.value = self._summary_text()
        if s.mode != "graded":
            return
        allowed = s.attempts_allowed
        of = f" of {allowed}" if allowed else ""
        text = f"Submitted: attempt {len(s.submissions)}{of}"
        if s.path is not None:
            text += f", saved in <code>{markdown_html(str(s.path))}</code>"
        if s.can_retake():
            left = s.attempts_remaining()
            text += "." if left is None else \
                f"; {left} more attempt{'s' if left != 1 else ''} allowed."
            self.retake_button.layout.display = None
        else:
            text += ". No attempts left: this is your graded submission."
            self.retake_button.layout.display = "none"
        self.status.value = text

    def _fill(self, answers: dict) -> None:
        """Put saved answers back into the inputs (a resumed submission)."""
        for qid, value in answers.items():
            inp = self.inputs.get(qid)
            if inp is None:
                continue
            if isinstance(inp, list):
                chosen = set(value if isinstance(value, list) else [value])
                for cb in inp:
                    cb.value = cb.description in chosen
            elif isinstance(inp, w.RadioButtons):
                inp.value = value if value in inp.options else None
            else:
                inp.value = "" if value is None else str(value)

    def retake(self) -> bool:
        """Graded: start a new attempt if the quiz allows one (else say why, change nothing)."""
        try:
            self.session.retake()
        except AttemptError as exc:
            self.status.value = f"<span style='color:#b00020'>{markdown_html(str(exc))}</span>"
            return False
        self._fill({qid: None for qid in self.inputs})
        for qid, inp in self.inputs.items():
            for x in inp if isinstance(inp, list) else [inp]:
                x.disabled = False
            self.feedback[qid].value = ""
        self.submit_button.disabled = False
        self.retake_button.layout.display = "none"
        self.summary.value = self._summary_text()
        self.status.value = f"Attempt {self.session.attempt}" + (
            f" of {self.session.attempts_allowed}" if self.session.attempts_allowed else "")
        return True

    def save(self, path: str | None = None):
        """Write the responses JSON (to ``path`` or the path typed in the widget)."""
        if path is not None:
            self.save_path.value = str(path)
        try:
            out = self.session.save(self.save_path.value)
        except AttemptError as exc:
            self.status.value = f"<span style='color:#b00020'>{markdown_html(str(exc))}</span>"
            return None
        except OSError as exc:
            self.status.value = "<span style='color:#b00020'>" + _("Could not save: ") + \
                                f"{markdown_html(str(exc))}</span>"
            return None
        self.status.value = _("Saved to <code>{}</code>").format(markdown_html(str(out)))
        return out

    def score(self) -> tuple[float, float]:
        return self.session.score()

    # ---------------------------------------------------------------- display
    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)
