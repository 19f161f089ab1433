"""What changed between two versions of a questionnaire, in words a curator
checks before publishing (issue 24): questions added, removed and reworded,
and every change to what a school's findings rest on (requirements, choices,
conditions, evidence, triage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .definition import Question, Questionnaire, Requirement


@dataclass(frozen=True)
class Change:
    kind: str  # "added", "removed", "reworded", "requirement", "asked", "choices", "other"
    where: str  # the question's id, a section's, or "questionnaire"
    what: str  # in words

    @property
    def judged(self) -> bool:
        """Whether it changes what a school's findings or triage say."""
        return self.kind in ("requirement", "triage", "added", "removed", "choices", "asked")


def changes(before: Questionnaire | None, after: Questionnaire) -> list[Change]:
    """Everything that differs from ``before`` (the version it replaces; None
    for a new questionnaire), in the order of ``after``."""
    if before is None:
        return [Change("added", "questionnaire", f"A new questionnaire: {after.title}, "
                       f"{after.question_count} questions")]  # fmt: skip
    found: list[Change] = []
    for label, was, now in (
        ("Title", before.title, after.title),
        ("Description", before.description, after.description),
        ("Privacy notice", before.privacy_notice, after.privacy_notice),
    ):
        if was != now:
            found.append(Change("other", "questionnaire", f"{label} changed"))
    old_sections = {s.id: s for s in before.sections}
    new_sections = {s.id: s for s in after.sections}
    for section in after.sections:
        if section.id not in old_sections:
            found.append(Change("added", section.id, f"Section added: {section.title}"))
        elif old_sections[section.id].title != section.title:
            found.append(Change("reworded", section.id,
                                f"Section renamed: {old_sections[section.id].title} → {section.title}"))  # fmt: skip
    for section in before.sections:
        if section.id not in new_sections:
            found.append(Change("removed", section.id, f"Section removed: {section.title}"))
    old_questions = {q.id: q for q in before.questions()}
    new_ids = {q.id for q in after.questions()}
    for question in after.questions():
        old = old_questions.get(question.id)
        if old is None:
            found.append(Change("added", question.id, f"Question added: {question.label}"))
            if question.requirement is not None:
                found.append(Change("requirement", question.id,
                                    f"Requirement: {describe(question.requirement)}"))  # fmt: skip
            continue
        found.extend(_question_changes(old, question))
    for question in before.questions():
        if question.id not in new_ids:
            found.append(Change("removed", question.id, f"Question removed: {question.label}"))
    found.extend(_triage_changes(before, after))
    return found


def _question_changes(old: Question, new: Question) -> list[Change]:
    qid = new.id
    found = []
    if old.label != new.label:
        found.append(Change("reworded", qid, f"Reworded: “{old.label}” → “{new.label}”"))
    if old.help != new.help:
        found.append(Change("reworded", qid, "Hint changed"))
    if old.type != new.type:
        found.append(Change("asked", qid, f"Answer type: {old.type} → {new.type}"))
    if old.choices != new.choices:
        found.append(Change("choices", qid, _choice_words(old, new)))
    for label, before, after in (
        ("Asked when", old.show_if, new.show_if),
        ("Required when", old.required_if, new.required_if),
        ("Constraint", old.constraint, new.constraint),
    ):
        if before != after:
            found.append(
                Change("asked", qid, f"{label}: {before or '(always)'} → {after or '(always)'}")
            )
    if old.required != new.required:
        found.append(Change("asked", qid, "Now required" if new.required else "Now optional"))
    if old.evidence != new.evidence:
        found.append(Change("asked", qid, f"Evidence: {old.evidence} → {new.evidence}"))
    if (old.min, old.max) != (new.min, new.max):
        found.append(Change("asked", qid, f"Allowed range: {_range(old)} → {_range(new)}"))
    if old.columns != new.columns:
        found.append(Change("asked", qid, "Table columns changed"))
    if old.requirement != new.requirement:
        if new.requirement is None:
            found.append(Change("requirement", qid, "Requirement removed"))
        elif old.requirement is None:
            found.append(
                Change("requirement", qid, f"Requirement added: {describe(new.requirement)}")
            )
        else:
            found.append(
                Change("requirement", qid, _requirement_words(old.requirement, new.requirement))
            )
    if old.raci != new.raci:
        found.append(Change("other", qid, "Who does what (RACI) changed"))
    if old.prefill != new.prefill:
        found.append(Change("other", qid, "Prefilled from other sources"))
    return found


def describe(requirement: Requirement) -> str:
    value = requirement.value
    shown = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else value
    rule = requirement.operator if shown is None else f"{requirement.operator} {shown}"
    return f"{rule} ({requirement.severity})"


def _requirement_words(old: Requirement, new: Requirement) -> str:
    parts = []
    if (old.operator, _plain(old.value)) != (new.operator, _plain(new.value)) or (
        old.severity != new.severity
    ):
        parts.append(f"{describe(old)} → {describe(new)}")
    added = [source for source in new.maps_to if source not in old.maps_to]
    dropped = [source for source in old.maps_to if source not in new.maps_to]
    if added:
        parts.append(f"sources added: {'; '.join(added)}")
    if dropped:
        parts.append(f"sources removed: {'; '.join(dropped)}")
    if old.rationale != new.rationale:
        parts.append("rationale reworded")
    if old.na != new.na:
        parts.append(f"N/A means: {old.na} → {new.na}")
    if old.subject != new.subject:
        parts.append("subject changed")
    return "Requirement: " + "; ".join(parts or ["changed"])


def _choice_words(old: Question, new: Question) -> str:
    before = {c.value: c.label for c in old.choices}
    after = {c.value: c.label for c in new.choices}
    parts = [f"added {after[v]}" for v in after if v not in before]
    parts += [f"removed {before[v]}" for v in before if v not in after]
    parts += [
        f"relabelled {before[v]} → {after[v]}"
        for v in after
        if v in before and before[v] != after[v]
    ]
    return "Choices: " + ("; ".join(parts) if parts else "reordered")


def _range(question: Question) -> str:
    return f"{_number(question.min)} to {_number(question.max)}"


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _triage_changes(before: Questionnaire, after: Questionnaire) -> list[Change]:
    if before.triage == after.triage:
        return []
    old_rules = {(r.when, r.risk) for r in before.triage.rules} if before.triage else set()
    new_rules = {(r.when, r.risk) for r in after.triage.rules} if after.triage else set()
    found = [Change("triage", "triage", f"Triage rule added: {when} gives {risk}")
             for when, risk in sorted(new_rules - old_rules)]  # fmt: skip
    found += [Change("triage", "triage", f"Triage rule removed: {when} gave {risk}")
              for when, risk in sorted(old_rules - new_rules)]  # fmt: skip
    if not found:
        found.append(Change("triage", "triage", "Triage reasons or next steps changed"))
    return found
