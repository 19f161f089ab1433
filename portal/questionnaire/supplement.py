"""An organisation's own extra questions, asked after a questionnaire's own
sections (issue 24).

A supplement is a section's list of questions. It is joined to whichever
version of the questionnaire a request uses, so it must stand on its own:
its ids start with ``local_`` (no questionnaire may use that prefix, so a new
version can never clash with a school's questions) and its conditions read
only its own questions (a later version may drop the one it would read).
Its requirements are the organisation's own rules, so its findings say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .conditions import names
from .definition import (
    OWN_PREFIX,
    SECTION_ID,
    DefinitionError,
    Question,
    Questionnaire,
    questionnaire_from_snapshot,
    snapshot_sha256,
)

MAX_QUESTIONS = 20
# What a form on the page would allow: a workbook is held to the same sizes,
# so "20 questions" stays a short section whichever way it was written.
TEXT_LIMITS = {"label": 500, "help": 1000, "placeholder": 200, "constraint_message": 500}
MAX_CHOICES = 100
CHOICE_LABEL_LIMIT = 200
MAX_COLUMNS = 20
INTRO_LIMIT = 2000
# Keys a staff questionnaire uses; a supplement goes to a supplier.
STAFF_KEYS = ("raci", "prefill")


def supplement_sha256(title: str, intro: str, questions: Sequence[Mapping[str, Any]]) -> str:
    return snapshot_sha256({"title": title, "intro": intro, "questions": list(questions)})


def with_supplement(
    base: Questionnaire,
    title: str,
    intro: str,
    questions: Sequence[Mapping[str, Any]],
    source: str = "school",
) -> Questionnaire:
    """The questionnaire with the supplement as its last section; ``source``
    ("school" or "trust") marks the supplement's requirements as that
    organisation's own. Raises DefinitionError if the two do not fit."""
    if not questions:
        return base
    snapshot = dict(base.snapshot)
    own = {"id": SECTION_ID, "title": title, "intro": intro, "questions": list(questions)}
    snapshot["sections"] = [*snapshot.get("sections", []), own]
    joined = questionnaire_from_snapshot(snapshot)
    problems = _standing_alone(joined)
    if problems:
        raise DefinitionError(problems)
    section = joined.section(SECTION_ID)
    marked = replace(section, questions=tuple(_marked(q, source) for q in section.questions))
    return replace(
        joined,
        sections=(*joined.sections[:-1], marked),
        sha256=snapshot_sha256(snapshot),
    )


def check(
    base: Questionnaire, title: str, intro: str, questions: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Every reason these questions cannot be a supplement to ``base``."""
    problems: list[str] = []
    if len(questions) > MAX_QUESTIONS:
        problems.append(
            f"survey: there are {len(questions)} questions: a school's own questions are at most "
            f"{MAX_QUESTIONS}, so suppliers are not asked a second questionnaire"
        )
    if not title.strip():
        problems.append("title: enter a title for your questions' section")
    elif len(title) > 200 or any(c in title for c in "\r\n"):
        problems.append("title: the section's title is one line of 200 characters or fewer")
    if len(intro) > INTRO_LIMIT:
        problems.append(f"intro: keep the introduction to {INTRO_LIMIT:,} characters or fewer")
    for index, question in enumerate(questions, start=1):
        qid = question.get("id")
        where = f"question {qid or index}"
        problems += [f"{where}: {line}" for line in _size_problems(question)]
        if not isinstance(qid, str) or not qid.startswith(OWN_PREFIX):
            problems.append(
                f"{where}: its id must start {OWN_PREFIX} (like {OWN_PREFIX}mis_sync), so it "
                "never clashes with the questionnaire's own"
            )
        problems += [
            f"{where}: {key} is for questionnaires staff answer, not a supplier's"
            for key in STAFF_KEYS
            if key in question
        ]
    if problems or not questions:
        return problems
    try:
        with_supplement(base, title or "Your questions", intro, questions)
    except DefinitionError as exc:
        problems += [line.removeprefix(f"section {SECTION_ID}, ") for line in exc.problems]
    return problems


def _size_problems(question: Mapping[str, Any]) -> list[str]:
    problems = [
        f"{key} is {len(str(question[key])):,} characters: keep it to {limit:,} or fewer"
        for key, limit in TEXT_LIMITS.items()
        if len(str(question.get(key, ""))) > limit
    ]
    choices = question.get("choices")
    if isinstance(choices, list):
        if len(choices) > MAX_CHOICES:
            problems.append(f"{len(choices)} answers to choose from: {MAX_CHOICES} at most")
        if any(
            len(str(c.get("label", ""))) > CHOICE_LABEL_LIMIT
            for c in choices
            if isinstance(c, dict)
        ):
            problems.append(f"an answer to choose from is over {CHOICE_LABEL_LIMIT} characters")
    columns = question.get("columns")
    if isinstance(columns, list):
        if len(columns) > MAX_COLUMNS:
            problems.append(f"a table of {len(columns)} columns: {MAX_COLUMNS} at most")
        for column in columns:
            if isinstance(column, Mapping):
                problems += [f"column {column.get('id')}: {p}" for p in _size_problems(column)]
    return problems


def _standing_alone(joined: Questionnaire) -> list[str]:
    own = {q.id for q in joined.section(SECTION_ID).questions}
    problems = []
    for question in joined.section(SECTION_ID).questions:
        for label, node in (
            ("show_if", question.show_if_node),
            ("required_if", question.required_if_node),
            ("constraint", question.constraint_node),
            ("evidence", question.evidence_node),
        ):
            if node is None:
                continue
            foreign = sorted({n for n in names(node) if n not in own and n != question.id})
            foreign = [n for n in foreign if _is_question(joined, n)]
            if foreign:
                problems.append(
                    f"section {SECTION_ID}, question {question.id}: {label} reads "
                    f"{', '.join(foreign)}, from the questionnaire itself; your own questions' "
                    "conditions may read only your own questions (a new version of the "
                    "questionnaire may not have it)"
                )
    return problems


def _is_question(questionnaire: Questionnaire, ident: str) -> bool:
    try:
        questionnaire.question(ident)
    except KeyError:
        return False
    return True


def _marked(question: Question, source: str) -> Question:
    if question.requirement is None:
        return question
    return replace(question, requirement=replace(question.requirement, source=source))
