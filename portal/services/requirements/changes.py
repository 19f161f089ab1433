"""Changing a requirement profile: one rule from the form, or a whole workbook.

Every change is audited with the rule before and after, and re-rates the
requests still being decided that the profile applies to (for a trust, its
schools' too), so a reviewer always sees findings against today's rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...models import Organisation, OrgKind, RequirementRule, User, utcnow
from ...questionnaire.compare import stricter_problem
from ...questionnaire.definition import Question, Questionnaire, Requirement
from ..errors import ServiceError
from ..platform.audit import record_event
from ..requirements import ratings
from . import profiles
from .profiles import RuleInput


def save_rule(
    session: Session,
    organisation: Organisation,
    actor: User,
    questionnaire: Questionnaire,
    question_id: str,
    typed: RuleInput,
) -> Requirement:
    """Save one rule (replacing this organisation's earlier one), audited."""
    saved = _save_rules(session, organisation, actor, questionnaire, {question_id: typed})
    return saved[question_id]


def _save_rules(
    session: Session,
    organisation: Organisation,
    actor: User,
    questionnaire: Questionnaire,
    typed: Mapping[str, RuleInput],
    *,
    via: str = "form",
    rerate: bool = True,
) -> dict[str, Requirement]:
    trust, _, _ = profiles.layers(session, organisation, questionnaire.key)
    stored = profiles.own_rules(session, organisation.id, questionnaire.key)
    parsed: dict[str, Requirement] = {}
    problems: list[str] = []
    for question_id, entry in typed.items():
        question = questionnaire.question(question_id)
        rule, errors = profiles.parse_rule(question, entry)
        if rule is not None and question_id in trust:
            problem = stricter_problem(trust[question_id], rule)
            errors = [problem] if problem else []
        if errors:
            # One rule from the form: its own messages; many from a workbook: say which.
            prefix = f"{question_id}: " if len(typed) > 1 else ""
            problems.extend(prefix + error for error in errors)
        elif rule is not None:
            parsed[question_id] = rule
    if problems:
        raise ServiceError("\n".join(problems), None if len(typed) > 1 else next(iter(typed)))
    for question_id, rule in parsed.items():
        row = stored.get(question_id)
        before = _describe(row) if row else None
        if row is None:
            row = RequirementRule(
                organisation_id=organisation.id,
                questionnaire_key=questionnaire.key,
                question_id=question_id,
            )
            session.add(row)
        row.operator = rule.operator
        row.value = list(rule.value) if isinstance(rule.value, tuple) else rule.value
        row.severity = rule.severity
        row.off = rule.off
        row.note = rule.note
        row.updated_by_id = actor.id
        row.updated_at = utcnow()
        record_event(
            session,
            "requirement_changed",
            organisation=organisation,
            actor=actor,
            questionnaire=questionnaire.key,
            question=question_id,
            before=before,
            after=_describe(row),
            via=via,
        )
    session.flush()
    if rerate:
        rerate_open_requests(session, organisation, questionnaire.key)
    return parsed


def remove_rule(
    session: Session,
    organisation: Organisation,
    actor: User,
    questionnaire: Questionnaire,
    question_id: str,
) -> bool:
    """Go back to the baseline (or the trust's rule) for one question."""
    row = profiles.own_rules(session, organisation.id, questionnaire.key).get(question_id)
    if row is None:
        return False
    _delete(session, organisation, actor, questionnaire, row)
    rerate_open_requests(session, organisation, questionnaire.key)
    return True


def _delete(
    session: Session,
    organisation: Organisation,
    actor: User,
    questionnaire: Questionnaire,
    row: RequirementRule,
) -> None:
    question_id = row.question_id
    record_event(
        session,
        "requirement_removed",
        organisation=organisation,
        actor=actor,
        questionnaire=questionnaire.key,
        question=question_id,
        before=_describe(row),
    )
    session.execute(delete(RequirementRule).where(RequirementRule.id == row.id))
    session.flush()


def replace_profile(
    session: Session,
    organisation: Organisation,
    actor: User,
    questionnaire: Questionnaire,
    typed: Mapping[str, RuleInput],
) -> int:
    """Make the organisation's rules exactly ``typed`` (an imported workbook):
    rules not listed go back to the baseline. All or nothing: raises before
    changing anything if any rule is wrong."""
    stored = profiles.own_rules(session, organisation.id, questionnaire.key)
    unchanged = {
        qid
        for qid, entry in typed.items()
        if qid in stored and _same_as_stored(questionnaire.question(qid), entry, stored[qid])
    }
    changed = {qid: entry for qid, entry in typed.items() if qid not in unchanged}
    if changed:
        _save_rules(
            session, organisation, actor, questionnaire, changed, via="import", rerate=False
        )
    removed = set(stored) - set(typed)
    for question_id in removed:
        _delete(session, organisation, actor, questionnaire, stored[question_id])
    if changed or removed:
        # Once for the whole workbook, not once per row.
        rerate_open_requests(session, organisation, questionnaire.key)
    return len(changed) + len(removed)


def _same_as_stored(question: Question, entry: RuleInput, row: RequirementRule) -> bool:
    rule, errors = profiles.parse_rule(question, entry)
    if rule is None:
        return False
    value = list(rule.value) if isinstance(rule.value, tuple) else rule.value
    return (rule.operator, value, rule.severity, rule.off, rule.note) == (
        row.operator,
        row.value,
        row.severity,
        row.off,
        row.note,
    )


def _describe(row: RequirementRule) -> dict[str, Any]:
    return {
        "operator": row.operator,
        "value": row.value,
        "severity": row.severity,
        "off": row.off,
        "note": row.note,
    }


def rerate_open_requests(session: Session, organisation: Organisation, key: str) -> int:
    """Re-rate every request still being decided that the profile applies to."""
    organisations: Iterable[int] = [organisation.id]
    if organisation.kind == OrgKind.TRUST:
        organisations = [
            organisation.id,
            *session.scalars(
                select(Organisation.id).where(Organisation.trust_id == organisation.id)
            ),
        ]
    return ratings.rerate_requests(session, list(organisations), key)
