"""An organisation's own extra questions for a questionnaire (issue 24).

A school (or trust) admin adds a few questions of its own (at most 20), one
at a time on a form or all together in the same workbook a curator uses.
They are asked as the last section of every request the organisation sends
of that questionnaire from then on, and judged by the rules written with
them. Each change is a new version; a request keeps the one it was sent with.
They are the organisation's alone: the directory and the curator are given
the questionnaire without them (questionnaire_registry.definition_for).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...exports.questionnaire_workbook import write_sheets
from ...models import Organisation, OrgKind, QuestionnaireSupplement, User
from ...questionnaire import Questionnaire
from ...questionnaire.definition import CHOICE_TYPES, OWN_PREFIX, SECTION_ID, SEVERITIES
from ...questionnaire.supplement import MAX_QUESTIONS, check, supplement_sha256, with_supplement
from ...questionnaire.workbook import SETTINGS, ReadRow, from_sheets, to_sheets
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.questionnaire_registry import find_current
from ..platform.questionnaire_workbooks import sheets_of

# The types the simple form offers, in the words a school uses.
FORM_TYPES = {
    "yes_no": "Yes or no",
    "yes_no_na": "Yes, no or not applicable",
    "single_choice": "One answer from a list",
    "multi_choice": "Any answers from a list",
    "text": "A short answer",
    "long_text": "A longer answer",
    "integer": "A whole number",
    "date": "A date",
    "file": "A file to upload",
}
# Every type's words, for a list of questions however they were written.
TYPE_WORDS = {
    **FORM_TYPES,
    "decimal": "A number",
    "money_gbp": "An amount in pounds",
    "percent": "A percentage",
    "email": "An email address",
    "url": "A web address",
    "table": "A table",
    "note": "Information, no answer",
}
# The form sets a requirement only on a yes-or-no question: anything richer
# is written in the workbook, where every operator is available.
EXPECTABLE = frozenset({"yes_no", "yes_no_na"})
LABEL_LIMIT = 500


class SupplementProblems(ServiceError):
    """The questions cannot be saved; ``problems`` says every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class NewQuestion:
    """One question as a school admin typed it on the form."""

    label: str
    hint: str
    type: str
    choices: str  # one per line, for a list
    required: bool
    expected: str  # "", or the answer that meets the school's rule (yes or no)
    severity: str
    why: str


def _newest(session: Session, organisation_id: int, key: str) -> QuestionnaireSupplement | None:
    return session.scalar(
        select(QuestionnaireSupplement)
        .where(
            QuestionnaireSupplement.organisation_id == organisation_id,
            QuestionnaireSupplement.questionnaire_key == key,
        )
        .order_by(QuestionnaireSupplement.version.desc())
        .limit(1)
    )


def in_use(session: Session, organisation_id: int, key: str) -> QuestionnaireSupplement | None:
    """The version a request of ``key`` sent now gets, if it has questions."""
    newest = _newest(session, organisation_id, key)
    return newest if newest is not None and newest.questions else None


def versions(session: Session, organisation_id: int, key: str) -> list[QuestionnaireSupplement]:
    """Every version, newest first."""
    return list(
        session.scalars(
            select(QuestionnaireSupplement)
            .where(
                QuestionnaireSupplement.organisation_id == organisation_id,
                QuestionnaireSupplement.questionnaire_key == key,
            )
            .order_by(QuestionnaireSupplement.version.desc())
        )
    )


def questionnaire_for(session: Session, organisation: Organisation, key: str) -> Questionnaire:
    """The questionnaire a supplier is sent now, with the organisation's own
    questions last: what the preview shows."""
    base = _supplier_questionnaire(session, key)
    own = in_use(session, organisation.id, key)
    if own is None:
        return base
    source = "trust" if organisation.kind == OrgKind.TRUST else "school"
    return with_supplement(base, own.title, own.intro, own.questions, source)


def default_title(organisation: Organisation) -> str:
    return f"Questions from {organisation.name}"[:200]


def _supplier_questionnaire(session: Session, key: str) -> Questionnaire:
    base = find_current(session, key)
    if base.answered_by_staff or base.triage is not None:
        # Staff answer those themselves; a screening's triage reads its own
        # questions only, so extra questions there would change nothing.
        raise ServiceError("Your own questions can be added to a supplier questionnaire only")
    return base


def save(
    session: Session,
    organisation: Organisation,
    actor: User,
    key: str,
    title: str,
    intro: str,
    questions: Sequence[Mapping[str, Any]],
    *,
    via: str = "form",
) -> QuestionnaireSupplement:
    """Store the questions as a new version (none if nothing changed), audited.
    Raises SupplementProblems with every reason they cannot be asked."""
    base = _supplier_questionnaire(session, key)
    title, intro = title.strip()[:200], intro.strip()
    questions = [_with_source(dict(q), organisation) for q in questions]
    problems = check(base, title, intro, questions) if questions else []
    if problems:
        raise SupplementProblems(problems)
    # Two admins saving at once would both number their version n + 1: on
    # PostgreSQL the organisation's row is the queue (SQLite writes one at a time).
    session.execute(
        select(Organisation.id).where(Organisation.id == organisation.id).with_for_update()
    )
    newest = _newest(session, organisation.id, key)
    sha256 = supplement_sha256(title, intro, questions)
    if newest is not None and newest.sha256 == sha256:
        return newest
    if newest is None and not questions:
        raise ServiceError("There are no questions to remove")
    row = QuestionnaireSupplement(
        organisation_id=organisation.id,
        questionnaire_key=key,
        version=(newest.version if newest else 0) + 1,
        title=title,
        intro=intro,
        questions=questions,
        sha256=sha256,
        created_by_id=actor.id,
    )
    session.add(row)
    record_event(
        session,
        "local_questions_saved",
        organisation=organisation,
        actor=actor,
        questionnaire=key,
        version=row.version,
        questions=len(questions),
        via=via,
    )
    session.flush()
    return row


def _with_source(question: dict[str, Any], organisation: Organisation) -> dict[str, Any]:
    """A rule the school wrote rests on the school's own policy: said so
    where a finding cites its source, unless the school cited one."""
    requirement = question.get("requirement")
    if isinstance(requirement, dict) and not requirement.get("maps_to"):
        question["requirement"] = {
            **requirement,
            "maps_to": [f"{organisation.name}'s own requirement"],
        }
    return question


def add_question(
    session: Session, organisation: Organisation, actor: User, key: str, typed: NewQuestion
) -> QuestionnaireSupplement:
    """The in-use questions and one more from the form."""
    newest = _newest(session, organisation.id, key)
    current = newest if newest is not None and newest.questions else None
    questions = list(current.questions) if current else []
    if len(questions) >= MAX_QUESTIONS:
        raise ServiceError(
            f"You already ask {MAX_QUESTIONS} questions of your own, the most there can be: "
            "remove one first",
            "label",
        )
    # An id is never given to a different question: one removed earlier may
    # still be in requests sent, and side by side they would share a row.
    used = {q["id"] for row in versions(session, organisation.id, key) for q in row.questions}
    question = question_from_form(typed, used)
    title = newest.title if newest else default_title(organisation)
    intro = newest.intro if newest else ""
    return save(session, organisation, actor, key, title, intro, [*questions, question])


def remove_question(
    session: Session, organisation: Organisation, actor: User, key: str, question_id: str
) -> QuestionnaireSupplement:
    current = in_use(session, organisation.id, key)
    questions = list(current.questions) if current else []
    kept = [q for q in questions if q.get("id") != question_id]
    if current is None or len(kept) == len(questions):
        raise ServiceError("That question is not one of your own questions now")
    readers = [q["id"] for q in kept if _reads(q, question_id)]
    if readers:
        raise ServiceError(
            f"{', '.join(readers)} shows or checks its answer on this question's: change "
            "those in the workbook first"
        )
    return save(session, organisation, actor, key, current.title, current.intro, kept)


def _reads(question: Mapping[str, Any], question_id: str) -> bool:
    pattern = re.compile(rf"\b{re.escape(question_id)}\b")
    return any(
        pattern.search(str(question.get(name, "")))
        for name in ("show_if", "required_if", "constraint", "evidence")
    )


def question_from_form(typed: NewQuestion, taken: set[str]) -> dict[str, Any]:
    """The question's definition, with an id made from its words. Raises
    ServiceError naming the field at fault."""
    label = " ".join(typed.label.split())
    if not label:
        raise ServiceError("Enter the question", "label")
    if len(label) > LABEL_LIMIT:
        raise ServiceError(f"The question must be {LABEL_LIMIT} characters or fewer", "label")
    if typed.type not in FORM_TYPES:
        raise ServiceError("Choose what kind of answer the supplier gives", "type")
    question: dict[str, Any] = {"id": _new_id(label, taken), "label": label, "type": typed.type}
    if typed.hint.strip():
        question["help"] = typed.hint.strip()
    if not typed.required:
        question["required"] = False
    if typed.type in CHOICE_TYPES - EXPECTABLE:
        question["choices"] = _choices(typed.choices)
    if typed.expected:
        question["requirement"] = _requirement(typed)
    return question


def _choices(typed: str) -> list[dict[str, str]]:
    labels = [" ".join(line.split()) for line in typed.splitlines() if line.strip()]
    if len(labels) < 2:
        raise ServiceError("Enter at least two answers to choose from, one on each line", "choices")
    values: list[str] = []
    for label in labels:
        value = _slug(label, 40) or "answer"
        while value in values:
            value = f"{value}_{len(values) + 1}"
        values.append(value)
    if len({label.lower() for label in labels}) != len(labels):
        raise ServiceError("Each answer to choose from must be different", "choices")
    return [{"value": v, "label": label} for v, label in zip(values, labels, strict=True)]


def _requirement(typed: NewQuestion) -> dict[str, Any]:
    if typed.type not in EXPECTABLE:
        raise ServiceError(
            "An answer that meets your requirement can be set here only for a yes or no "
            "question: write other rules in the workbook",
            "expected",
        )
    if typed.expected not in ("yes", "no"):
        raise ServiceError("Choose the answer that meets your requirement", "expected")
    if typed.severity not in SEVERITIES:
        raise ServiceError("Choose how serious it is when the answer does not meet it", "severity")
    requirement: dict[str, Any] = {
        "operator": "equals",
        "value": typed.expected,
        "severity": typed.severity,
    }
    if typed.why.strip():
        requirement["rationale"] = typed.why.strip()
    return requirement


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit].strip("_")


def _new_id(label: str, taken: set[str]) -> str:
    words = _slug(label, 40).split("_")[:6]
    stem = OWN_PREFIX + ("_".join(w for w in words if w) or "question")
    stem = stem if stem[len(OWN_PREFIX)].isalpha() else OWN_PREFIX + "q_" + stem[len(OWN_PREFIX) :]
    candidate, number = stem, 2
    while candidate in taken:
        candidate, number = f"{stem}_{number}", number + 1
    return candidate


# --- the workbook -----------------------------------------------------------


def workbook(session: Session, organisation: Organisation, key: str) -> bytes:
    """The organisation's questions as a workbook in the curator's format
    (settings, survey, choices): edit it and upload it back."""
    base = _supplier_questionnaire(session, key)
    current = in_use(session, organisation.id, key)
    section = {
        "id": SECTION_ID,
        "title": current.title if current else default_title(organisation),
        "questions": list(current.questions) if current else [],
    }
    if current and current.intro:
        section["intro"] = current.intro
    snapshot = {
        "key": base.key,
        "version": current.version if current else 1,
        "title": section["title"],
        "audience": base.audience,
        "sections": [section],
    }
    return write_sheets(to_sheets(snapshot))


def read_workbook(
    session: Session, organisation: Organisation, key: str, data: bytes
) -> tuple[str, str, list[dict[str, Any]]]:
    """(title, intro, questions) from an uploaded workbook. Raises
    WorkbookProblems with every fault at its sheet, row and column. Its
    settings are the questionnaire's, so only form_title is read from them."""
    base = _supplier_questionnaire(session, key)
    sheets = sheets_of(data)
    typed = next(
        (row for row in sheets.get(SETTINGS, ()) if any(v is not None for v in row.cells.values())),
        None,
    )
    title = default_title(organisation)
    if typed is not None:
        title = (typed.text("form_title") or typed.text("title") or title)[:200]
    sheets[SETTINGS] = [
        ReadRow(2, {"form_id": base.key, "version": 1, "form_title": title, "audience": "cloud"})
    ]

    def own_rules(parsed: Questionnaire) -> list[str]:
        questions = [q for section in parsed.snapshot["sections"] for q in section["questions"]]
        return check(base, title, "", _inlined(questions, parsed.snapshot.get("choices", {})))

    snapshot = from_sheets(sheets, also=own_rules)
    sections = snapshot["sections"]
    intro = str(sections[0].get("intro", "")) if len(sections) == 1 else ""
    questions = [q for section in sections for q in section["questions"]]
    return title, intro, _inlined(questions, snapshot.get("choices", {}))


def _inlined(
    questions: Sequence[Mapping[str, Any]], lists: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Named choice lists written into each question that uses one: a
    supplement is joined to any version, whose lists may differ."""
    out = []
    for question in questions:
        copied = dict(question)
        if isinstance(copied.get("choices"), str) and copied["choices"] in lists:
            copied["choices"] = list(lists[copied["choices"]])
        if "columns" in copied:
            copied["columns"] = _inlined(copied["columns"], lists)
        out.append(copied)
    return out
