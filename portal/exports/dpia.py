"""A full DPIA as a workbook (the sign-off, every answer with where it came
from, and the risk register with its levels in colour) and as a PDF to read
and file, with its signature trail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter

from ..questionnaire import Questionnaire
from ..questionnaire.display import display_value
from ..questionnaire.risk import (
    DEFAULT_MATRIX,
    LEVEL_LABELS,
    LIKELIHOODS,
    SEVERITIES,
    Matrix,
    level_label,
    residual_level,
    risks_of,
)
from .cells import IN_MEMORY, list_styles
from .pdf import RestrictedFetcher, render_pdf
from .request import TimelineLine


@dataclass(frozen=True)
class DpiaSummary:
    """A DPIA's sign-off in words (services/school/dpia.py gathers it)."""

    title: str
    supplier: str
    request_reference: str
    status: str  # as stored ("approved"): decides the ICO line
    status_label: str
    ico_consultation: bool  # what the approver recorded
    dpo_name: str
    dpo_advice: str
    dpo_advised_on: date | None
    advice_followed: bool | None
    advice_not_followed_reason: str
    signed_off_by: str  # "Name, role" once decided
    decided_on: date | None
    decision_note: str
    next_review_date: date | None


@dataclass(frozen=True)
class DpiaAnswerRow:
    """One stored answer, and where it came from."""

    value: Any
    comment: str | None
    source: str | None


LEVEL_FILLS = {"low": "#CCE2D8", "medium": "#FFF7BF", "high": "#F4CDC6"}


def _day(value: date | None) -> datetime | None:
    return None if value is None else datetime(value.year, value.month, value.day)


def _words(value: str | None) -> str:
    return (value or "").capitalize()


def _ico_words(dpia: DpiaSummary, remaining: str | None) -> str:
    if dpia.status == "rejected":
        return "Not applicable: the processing was rejected"
    if dpia.status == "approved":
        high = dpia.ico_consultation
    else:
        high = remaining == "high"
    return "Required before the processing starts: a high risk remains" if high else "Not required"


def dpia_workbook(
    out: str | IO[bytes],
    dpia: DpiaSummary,
    questionnaire: Questionnaire,
    stored: Mapping[str, DpiaAnswerRow],
    matrix: Matrix = DEFAULT_MATRIX,
    own_matrix: bool = False,
) -> None:
    """``matrix`` rates the risks (the organisation's, services/school/risk_matrix.py);
    ``own_matrix`` says whether the organisation set it."""
    workbook = xlsxwriter.Workbook(out, IN_MEMORY)
    workbook.set_properties({"title": f"DPIA: {dpia.title}", "comments": "Due Diligence Portal"})
    cells, dates = list_styles(workbook, {"level": LEVEL_FILLS})
    cells.add("label", {"bold": True, "valign": "top", "text_wrap": True})
    values = {qid: row.value for qid, row in stored.items()}
    risks = risks_of(values, matrix)
    remaining = residual_level(risks)

    summary = workbook.add_worksheet("DPIA")
    summary.set_column(0, 0, 32)
    summary.set_column(1, 1, 90)
    lines: list[tuple[str, Any]] = [
        ("Tool", dpia.title),
        ("Supplier", dpia.supplier),
        ("Started from request", dpia.request_reference),
        ("Status", dpia.status_label),
        ("Highest risk left after the measures", level_label(remaining)),
        ("ICO consultation", _ico_words(dpia, remaining)),
        ("DPO", dpia.dpo_name),
        ("DPO's advice", dpia.dpo_advice),
        ("Date of the advice", _day(dpia.dpo_advised_on)),
        ("Advice followed", "" if dpia.advice_followed is None else ("Yes" if dpia.advice_followed else "No")),
        ("Why the advice was not followed", dpia.advice_not_followed_reason),
        ("Signed off by", dpia.signed_off_by),
        ("Date of the decision", _day(dpia.decided_on)),
        ("Notes on the decision", dpia.decision_note),
        ("Next review", _day(dpia.next_review_date)),
    ]  # fmt: skip
    for line, (label, value) in enumerate(lines):
        cells.text(summary, line, 0, label, "label")
        if isinstance(value, datetime):
            summary.write_datetime(line, 1, value, dates)
        else:
            cells.text(summary, line, 1, value, "wrap")

    answers = workbook.add_worksheet("Answers")
    count = cells.header(
        answers, [("Section", 28), ("Question", 50), ("Answer", 70), ("Where it came from", 40)]
    )
    line = 0
    for section in questionnaire.sections:
        for question in section.answerable:
            line += 1
            row = stored.get(question.id)
            value = row.value if row else None
            text = "" if value is None else display_value(question, value)
            if row and row.comment:
                text = f"{text}\nComment: {row.comment}"
            cells.texts(answers, line, (section.title, question.label, text), "wrap")
            cells.text(
                answers, line, 3, (row.source if row and row.source else "The school"), "wrap"
            )
    answers.autofilter(0, 0, max(line, 1), count - 1)

    register = workbook.add_worksheet("Risk register")
    count = cells.header(
        register,
        [
            ("No.", 6), ("Risk to people", 50), ("Likelihood", 13), ("Severity", 13),
            ("Risk", 10), ("Measure that reduces it", 50), ("Likelihood with the measure", 15),
            ("Severity with the measure", 15), ("Risk left", 10), ("Measure approved", 11),
            ("Why the risk left was set by hand", 40),
        ],
    )  # fmt: skip
    for line, risk in enumerate(risks, 1):
        register.write_number(line, 0, risk.number)
        judged = (risk.likelihood, risk.severity, risk.level)
        left = (risk.residual_likelihood, risk.residual_severity, risk.residual_level)
        for first, text, (likelihood, severity, level) in (
            (1, risk.risk, judged),
            (5, risk.measure, left),
        ):
            cells.texts(
                register, line, (text, _words(likelihood), _words(severity)), "wrap", first=first
            )
            style = f"level:{level}" if level else "wrap"
            cells.text(register, line, first + 3, LEVEL_LABELS.get(level or "", ""), style)
        cells.text(register, line, 9, _words(risk.approved), "wrap")
        if risk.residual_level != risk.matrix_residual_level:
            cells.text(register, line, 10, risk.judged_reason, "wrap")
    register.autofilter(0, 0, max(len(risks), 1), count - 1)

    rated = workbook.add_worksheet("Risk matrix")
    rated.set_column(0, 3, 16)
    cells.text(
        rated,
        0,
        0,
        "Your organisation's matrix" if own_matrix else "The portal's default matrix",
        "label",
    )
    cells.texts(rated, 1, ["Likelihood", *(s.capitalize() for s in SEVERITIES)], "heading")
    for line, likelihood in enumerate(LIKELIHOODS, 2):
        cells.text(rated, line, 0, likelihood.capitalize(), "label")
        for column, severity in enumerate(SEVERITIES, 1):
            level = matrix[(likelihood, severity)]
            cells.text(rated, line, column, LEVEL_LABELS[level], f"level:{level}")
    workbook.close()


def dpia_pdf(
    dpia: DpiaSummary,
    questionnaire: Questionnaire,
    stored: Mapping[str, DpiaAnswerRow],
    trail: Sequence[TimelineLine],
    produced_at: datetime,
    matrix: Matrix = DEFAULT_MATRIX,
    own_matrix: bool = False,
    fetcher: RestrictedFetcher | None = None,
) -> bytes:
    """The DPIA to read and file: the sign-off with the DPO's advice, every
    answer, the risk register and matrix in words, and the signature trail
    (who moved it to each state, when)."""
    values = {qid: row.value for qid, row in stored.items()}
    risks = risks_of(values, matrix)
    remaining = residual_level(risks)
    sections = [
        (
            section.title,
            [
                (
                    str(question.label),
                    "" if stored.get(question.id) is None or stored[question.id].value is None
                    else display_value(question, stored[question.id].value),
                    (stored[question.id].comment or "") if question.id in stored else "",
                    (stored[question.id].source or "") if question.id in stored else "",
                )
                for question in section.answerable
            ],
        )
        for section in questionnaire.sections
        if section.answerable
    ]  # fmt: skip
    return render_pdf(
        "dpia.html",
        fetcher,
        d=dpia,
        remaining=level_label(remaining),
        ico=_ico_words(dpia, remaining),
        followed="" if dpia.advice_followed is None else ("Yes" if dpia.advice_followed else "No"),
        sections=sections,
        risks=[
            {
                "number": r.number,
                "risk": r.risk,
                "measure": r.measure,
                "before": " ".join(
                    filter(
                        None,
                        [
                            _words(r.likelihood),
                            "likelihood,",
                            _words(r.severity),
                            "severity:",
                            LEVEL_LABELS.get(r.level or "", "not rated"),
                        ],
                    )
                ),
                "after": LEVEL_LABELS.get(r.residual_level or "", "not rated"),
                "approved": _words(r.approved),
                "by_hand": r.judged_reason if r.residual_level != r.matrix_residual_level else "",
            }
            for r in risks
        ],  # fmt: skip
        matrix=[
            (likelihood.capitalize(), [LEVEL_LABELS[matrix[(likelihood, s)]] for s in SEVERITIES])
            for likelihood in LIKELIHOODS
        ],
        severities=[s.capitalize() for s in SEVERITIES],
        own_matrix=own_matrix,
        trail=trail,
        produced_at=produced_at,
    )
