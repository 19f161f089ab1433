"""A questionnaire tried out before it is published (issue 24): every
section on one form, answered with sample answers, then judged against the
questionnaire's own baseline requirements (or triaged, for a screening), all
in memory. Nothing here is stored; the curator's page shows the result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import logic
from .answerset import Stored, plan_section
from .compare import Comparison, compare
from .definition import Questionnaire
from .forms import SectionForm, build_section_form


@dataclass(frozen=True)
class TryOut:
    forms: Mapping[str, SectionForm]  # by section id, holding what was typed
    shown: Mapping[str, bool]  # which questions a supplier would be asked
    answers: Mapping[str, Any] = field(default_factory=dict)
    comparison: Comparison | None = None  # None until answers are tried


def try_out(
    questionnaire: Questionnaire, formdata: Any | None = None, today: date | None = None
) -> TryOut:
    """The blank questionnaire (``formdata`` None), or the sample answers
    posted: each section checked as a supplier's save is (a wrong format
    stays on the form with its message), then judged as a submission. Files
    cannot be tried out: evidence is taken as attached wherever it is asked for."""
    forms = {
        section.id: build_section_form(questionnaire, section)(formdata=formdata)
        for section in questionnaire.sections
    }
    answers: dict[str, Any] = {}
    if formdata is not None:
        # Every section's valid answers first, then each section checked
        # against all the others (a question may depend on a later section's).
        typed = {qid: value for form in forms.values() for qid, value in form.answers().items()
                 if value is not None}  # fmt: skip
        for section in questionnaire.sections:
            form = forms[section.id]
            own = {q.id for q in section.answerable}
            others = {qid: Stored(v) for qid, v in typed.items() if qid not in own}
            planned = plan_section(form, others, today=today).answers
            answers.update({qid: v for qid, v in planned.items() if qid in own})
    for form in forms.values():
        form.add_blank_rows()
    shown = logic.visibility(questionnaire, answers, today)
    if formdata is None:
        return TryOut(forms, shown)
    evidence = {q.id for q in questionnaire.questions() if q.evidence != "none" or q.type == "file"}
    comparison = compare(questionnaire, answers, evidence=evidence, today=today, submitted=True)
    return TryOut(forms, shown, answers, comparison)
