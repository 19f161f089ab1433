"""Answers against a school's requirements, and screening answers against triage.

Pure functions over a Questionnaire and plain data. The requirements are the
questionnaire's baseline with a trust's and a school's own rules laid over it
(:func:`effective_requirements`); comparing never changes the answers, so a
stored response can be compared again whenever a profile changes.

The score is explainable by construction: every judged requirement carries a
weight by severity, earns all of it when met, half when partly met and none
otherwise; the score is the share earned, 0-100, and each finding knows the
points it cost.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from . import logic
from .conditions import UNKNOWN, evaluate
from .definition import (
    RISKS,
    SEVERITIES,
    Question,
    Questionnaire,
    Requirement,
    requirement_problems,
)
from .display import display_value, format_day


class Outcome(enum.StrEnum):
    MET = "met"
    PARTLY_MET = "partly_met"
    NOT_MET = "not_met"
    UNANSWERED = "unanswered"
    NEEDS_REVIEW = "needs_review"
    NOT_APPLICABLE = "not_applicable"
    # "Not applicable" to a requirement that does not say N/A is fine: a gap
    # until a reviewer accepts it (a review of "not applicable" with a reason).
    NA_TO_REVIEW = "na_to_review"


OUTCOME_LABELS = {
    Outcome.MET: "Met",
    Outcome.PARTLY_MET: "Partly met",
    Outcome.NOT_MET: "Not met",
    Outcome.UNANSWERED: "Unanswered",
    Outcome.NEEDS_REVIEW: "Needs review",
    Outcome.NOT_APPLICABLE: "Not applicable",
    Outcome.NA_TO_REVIEW: "Not applicable: needs review",
}
# Outcomes a reviewer may set in place of the computed one.
REVIEW_OUTCOMES = (Outcome.MET, Outcome.PARTLY_MET, Outcome.NOT_MET, Outcome.NOT_APPLICABLE)

# Points at stake per requirement. A critical gap outweighs several minor ones.
SEVERITY_WEIGHTS = {"critical": 10, "major": 5, "minor": 2}
# The share of a requirement's weight each outcome earns; outcomes not listed
# (needs review, not applicable) are not scored. An unreviewed "not
# applicable" earns nothing, like an unanswered question, until a reviewer
# accepts it: otherwise N/A would be a way round any requirement.
EARNED = {
    Outcome.MET: 1.0,
    Outcome.PARTLY_MET: 0.5,
    Outcome.NOT_MET: 0.0,
    Outcome.UNANSWERED: 0.0,
    Outcome.NA_TO_REVIEW: 0.0,
}
# Outcomes that count against the rating.
GAPS = frozenset({Outcome.NOT_MET, Outcome.PARTLY_MET, Outcome.UNANSWERED, Outcome.NA_TO_REVIEW})
GREEN_FROM = 80
AMBER_FROM = 50
RATING_LABELS = {"green": "Green", "amber": "Amber", "red": "Red"}

CHOICE_OPERATORS = frozenset({"in", "not_in", "includes_all", "includes_any"})
# Outcomes that are never a gap.
MET_OR_UNJUDGED = frozenset({Outcome.MET, Outcome.NEEDS_REVIEW, Outcome.NOT_APPLICABLE})


@dataclass(frozen=True)
class Check:
    """One answer against one requirement, in words."""

    outcome: Outcome
    expected: str
    actual: str
    reason: str = ""


@dataclass(frozen=True)
class Review:
    """A reviewer's own judgement in place of the computed outcome."""

    outcome: Outcome
    reason: str
    by: str = ""
    on: date | None = None


# Not frozen, unlike the engine's other records: a comparison makes one per
# requirement, and a frozen dataclass's __init__ costs a setattr call per field.
@dataclass(slots=True)
class Finding:
    question: Question
    requirement: Requirement
    computed: Outcome
    value: Any
    reason: str = ""
    review: Review | None = None
    weight: int = 0
    # Points out of 100 this finding cost the score (0 when met or not scored).
    points_lost: float = 0.0

    @property
    def expected(self) -> str:
        """What the requirement asks for, in words (made when shown, not when rated)."""
        return expected_words(self.question, self.requirement)

    @property
    def actual(self) -> str:
        return display_value(self.question, self.value)

    @property
    def outcome(self) -> Outcome:
        return self.review.outcome if self.review else self.computed

    @property
    def scored(self) -> bool:
        return self.outcome in EARNED

    @property
    def gap(self) -> bool:
        return self.outcome in GAPS


@dataclass(frozen=True)
class TriageResult:
    risk: str
    reasons: tuple[str, ...]
    next_step: str
    # Reasons that hold only because an answer is still unknown.
    uncertain: tuple[str, ...] = ()


@dataclass(frozen=True)
class FindingGroup:
    """Findings of one kind, for a page that leads with what needs the reviewer."""

    key: str
    title: str
    findings: tuple[Finding, ...]
    folded: bool = False


@dataclass(frozen=True)
class Comparison:
    findings: tuple[Finding, ...]
    # Requirements a profile switched off, with the note saying why.
    switched_off: tuple[tuple[Question, Requirement], ...]
    score: int | None
    rating: str | None
    rating_reasons: tuple[str, ...]
    triage: TriageResult | None
    counts: Mapping[str, int] = field(default_factory=dict)
    # The rating in one sentence a governor can read: what decided it.
    rating_summary: str = ""
    # Answers whose requirement is "info": shown to the reviewer beside the
    # findings, never judged, scored or counted (an unanswered one is left out).
    information: tuple[tuple[Question, Any], ...] = ()

    def by_severity(self) -> dict[str, Counter[str]]:
        """Severity -> outcome -> how many (for summaries and exports)."""
        table: dict[str, Counter[str]] = {s: Counter() for s in SEVERITIES}
        for finding in self.findings:
            table.setdefault(finding.requirement.severity, Counter())[finding.outcome] += 1
        return table

    def finding(self, question_id: str) -> Finding | None:
        return next((f for f in self.findings if f.question.id == question_id), None)

    def filtered(self, gaps_only: bool = False, critical_only: bool = False) -> list[Finding]:
        """The findings a reviewer asked to see, in questionnaire order."""
        return [
            f
            for f in self.findings
            if (not gaps_only or f.gap)
            and (not critical_only or f.requirement.severity == "critical")
        ]

    def reading_order(
        self, gaps_only: bool = False, critical_only: bool = False
    ) -> list[FindingGroup]:
        """The findings a reviewer asked to see, grouped in the order to weigh
        them: critical and major gaps, then answers to read, then minor gaps,
        then what is met or accepted as not applicable (shown folded). Within a
        group, critical before major, then questionnaire order."""
        chosen = self.filtered(gaps_only, critical_only)
        severe = sorted(
            (f for f in chosen if f.gap and f.requirement.severity != "minor"),
            key=lambda f: SEVERITIES.index(f.requirement.severity),
        )
        groups = [
            FindingGroup("severe", "Critical and major gaps", tuple(severe)),
            FindingGroup(
                "reading",
                "Answers to read",
                tuple(f for f in chosen if f.outcome == Outcome.NEEDS_REVIEW),
            ),
            FindingGroup(
                "minor",
                "Minor gaps",
                tuple(f for f in chosen if f.gap and f.requirement.severity == "minor"),
            ),
            FindingGroup(
                "settled",
                "Met or not applicable",
                tuple(f for f in chosen if not f.gap and f.outcome != Outcome.NEEDS_REVIEW),
                folded=True,
            ),
        ]
        return [group for group in groups if group.findings]

    def gaps_first(self) -> list[Finding]:
        """Gaps, then what needs reading, then the rest: what to weigh first."""
        return sorted(self.findings, key=lambda f: (not f.gap, f.outcome != Outcome.NEEDS_REVIEW))


# --- requirements ---------------------------------------------------------


def effective_requirements(
    questionnaire: Questionnaire, *layers: Mapping[str, Requirement]
) -> dict[str, Requirement]:
    """Question id -> the requirement that applies: the baseline, then each
    layer (a trust's rules, then a school's) in turn.

    A rule that does not fit this version of a question (a profile kept by
    questionnaire key outlives a version whose question changed type or lost a
    choice) is ignored rather than guessed at: the layer below applies.
    """
    result: dict[str, Requirement] = {}
    for question in questionnaire.questions():
        rule = question.requirement
        for layer in layers:
            own = layer.get(question.id)
            if own is not None and fits(question, own):
                rule = replace(
                    own,
                    rationale=own.rationale or (rule.rationale if rule else ""),
                    maps_to=own.maps_to or (rule.maps_to if rule else ()),
                    subject=own.subject or (rule.subject if rule else ""),
                    # A profile's rule has no say on N/A (yet): the file's holds.
                    na=rule.na if rule else own.na,
                )
        if rule is not None:
            result[question.id] = rule
    return result


def fits(question: Question, rule: Requirement) -> bool:
    if not question.answerable:
        return False
    if rule.off:
        return True
    return not requirement_problems(question, rule.operator, rule.value, rule.severity)


def stricter_problem(trust: Requirement, school: Requirement) -> str:
    """Why a school's rule would loosen its trust's rule, or "" if it does not.

    A school may tighten what its trust sets: a narrower list, a higher minimum,
    a lower maximum, a higher severity; it may not switch the rule off or change
    its kind.
    """
    if trust.off:
        return ""
    if school.off:
        return "Your trust requires this, so your school cannot switch it off"
    if SEVERITIES.index(school.severity) > SEVERITIES.index(trust.severity):
        return f"Your trust rates this {trust.severity}: choose {trust.severity} or higher"
    if school.operator != trust.operator:
        if trust.operator in ("present", "info"):
            return ""
        return "Your trust sets this rule: you can make it stricter but not change its kind"
    wanted, own = trust.value, school.value
    loosened = False
    match trust.operator:
        case "min":
            loosened = own < wanted
        case "max" | "within_days":
            loosened = own > wanted
        case "in" | "includes_any":
            loosened = not set(own) <= set(wanted)
        case "not_in" | "includes_all":
            loosened = not set(own) >= set(wanted)
        case "equals" | "not_equals":
            loosened = own != wanted
    return "This would be less strict than your trust's rule" if loosened else ""


# --- one answer -----------------------------------------------------------


def expected_words(question: Question, requirement: Requirement) -> str:
    """What the requirement asks for, in words a reviewer reads at a glance."""
    value = requirement.value

    def labels(items: Any) -> str:
        return ", ".join(question.choice_label(str(v)) for v in items)

    match requirement.operator:
        case "equals":
            return _one(question, value)
        case "not_equals":
            return f"Anything but {_one(question, value)}"
        case "in":
            return f"One of: {labels(value)}"
        case "not_in":
            return f"None of: {labels(value)}"
        case "includes_all":
            return f"All of: {labels(value)}"
        case "includes_any":
            return f"At least one of: {labels(value)}"
        case "min":
            return f"At least {_amount(question, value)}"
        case "max":
            return f"At most {_amount(question, value)}"
        case "date_after_today":
            return "A date after today"
        case "within_days":
            return f"Within the last {_plural(int(value), 'day')}"
        case "present":
            return "A file" if question.type == "file" else "An answer"
        case _:
            return "Read the answer"


def _one(question: Question, value: Any) -> str:
    if question.choices or question.type in ("yes_no", "yes_no_na"):
        return question.choice_label(str(value))
    return display_value(question, value)


def _amount(question: Question, value: Any) -> str:
    if question.type == "table":
        return _plural(int(value), "row")
    if question.type == "file":
        return _plural(int(value), "file")
    if question.type == "multi_choice":
        return _plural(int(value), "choice")
    return display_value(question, value)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def check_answer(
    question: Question,
    requirement: Requirement,
    value: Any,
    today: date | None = None,
    evidence_missing: bool = False,
) -> Check:
    """Whether one answer meets one requirement, with the words to show why."""
    outcome, reason = judge(question, requirement, value, today or date.today(), evidence_missing)
    return Check(
        outcome, expected_words(question, requirement), display_value(question, value), reason
    )


def judge(
    question: Question, requirement: Requirement, value: Any, now: date, evidence_missing: bool
) -> tuple[Outcome, str]:
    """The outcome and, where it needs one, the reason. Words for what was
    expected and given are left to the caller: a rating does not need them."""
    if requirement.operator == "info":
        # compare() never judges these; one answer checked alone says so too.
        return Outcome.NEEDS_REVIEW, "For information only: not judged"
    if logic.is_blank(value):
        return Outcome.UNANSWERED, "Not answered"
    wanted = requirement.value
    if question.type == "yes_no_na" and value == "na" and requirement.operator != "present":
        if "na" not in (wanted if requirement.operator in CHOICE_OPERATORS else (wanted,)):
            return _not_applicable(requirement.na)
    if evidence_missing:
        return Outcome.NOT_MET, "Evidence is required but no file was uploaded"
    match requirement.operator:
        case "present":
            # Given at all is met, for a written answer too (questionnaires/README):
            # what it says is the reviewer's to read, and to judge with a review.
            return Outcome.MET, ""
        case "equals":
            met = _same(value, wanted)
        case "not_equals":
            met = not _same(value, wanted)
        case "in":
            met = value in wanted
        case "not_in":
            met = value not in wanted
        case "includes_all":
            present = set(wanted) & set(value)
            if present and present != set(wanted):
                missing = [v for v in wanted if v not in present]
                return (
                    Outcome.PARTLY_MET,
                    "Missing: " + ", ".join(question.choice_label(str(v)) for v in missing),
                )
            met = present == set(wanted)
        case "includes_any":
            met = bool(set(wanted) & set(value))
        case "min":
            met = _size(value) >= wanted
        case "max":
            met = _size(value) <= wanted
        case "date_after_today":
            day = date.fromisoformat(value)
            if day <= now:
                what = requirement.subject or "It"
                verb = "expires" if day == now else "expired"
                return Outcome.NOT_MET, f"{what} {verb} on {format_day(day)}"
            met = True
        case "within_days":
            day = date.fromisoformat(value)
            if day < now - timedelta(days=wanted):
                what = f"{requirement.subject} was" if requirement.subject else "Last done"
                return (
                    Outcome.NOT_MET,
                    f"{what} on {format_day(day)}, more than {_plural(int(wanted), 'day')} ago",
                )
            met = True
        case _:
            raise ValueError(f"unknown operator {requirement.operator}")
    return (Outcome.MET if met else Outcome.NOT_MET), ""


def _not_applicable(rule: str) -> tuple[Outcome, str]:
    """A yes_no_na "Not applicable" to a requirement whose value does not name it."""
    if rule == "accept":
        return Outcome.NOT_APPLICABLE, "Not applicable, which this requirement accepts"
    if rule == "fail":
        return (
            Outcome.NOT_MET,
            "The supplier answered 'not applicable', which this requirement does not accept",
        )
    return (
        Outcome.NA_TO_REVIEW,
        "Answered 'not applicable': a reviewer must accept that, with a reason, "
        "before this stops counting as a gap",
    )


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(value, int | float) and isinstance(wanted, int | float):
        return float(value) == float(wanted)
    return bool(value == wanted)


def _size(value: Any) -> float:
    # A number is its own size; a table's, a file list's or a multi-choice's is its length.
    return len(value) if isinstance(value, list) else float(value)


# --- a whole response -----------------------------------------------------


def compare(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    requirements: Mapping[str, Requirement] | None = None,
    *,
    evidence: Collection[str] = (),
    reviews: Mapping[str, Review] | None = None,
    today: date | None = None,
    submitted: bool = False,
    expired: Mapping[str, date] | None = None,
) -> Comparison:
    """Every visible question with a requirement, judged, rated and explained.

    ``requirements`` defaults to the questionnaire's baseline; ``evidence`` is
    the ids of questions that have at least one file; ``reviews`` are reviewer
    overrides by question id. A hidden question was not asked, so it has no
    finding; a switched-off requirement is listed apart with its note.
    ``submitted`` says the answers are final (see :func:`triage`).
    ``expired``: questions whose evidence ran out, with the day (issue 26).
    An expired file is no file: a file question, or an answer whose evidence
    is required, is not met until the renewed document arrives; an answer
    whose evidence was optional is judged on the answer.
    """
    rules = effective_requirements(questionnaire) if requirements is None else requirements
    reviews = reviews or {}
    now = today or date.today()
    shown = logic.visibility(questionnaire, answers, now)
    # Typed answers are needed only for evidence conditions: build them once, if at all.
    scope: dict[str, Any] | None = None
    checked: list[tuple[Question, Requirement, tuple[Outcome, str]]] = []
    switched_off: list[tuple[Question, Requirement]] = []
    information: list[tuple[Question, Any]] = []
    for question in questionnaire.questions():
        rule = rules.get(question.id)
        if rule is None or not shown.get(question.id, False):
            continue
        if rule.off:
            switched_off.append((question, rule))
            continue
        if rule.operator == "info":
            if not logic.is_blank(answers.get(question.id)):
                information.append((question, answers[question.id]))
            continue
        missing_files = False
        if question.type != "file" and question.id not in evidence and question.evidence != "none":
            if scope is None:
                scope = logic.typed_visible(questionnaire, answers, shown)
            missing_files = logic.evidence_required(question, scope, now)
        judged = judge(question, rule, answers.get(question.id), now, missing_files)
        ran_out = expired.get(question.id) if expired else None
        if ran_out is not None and judged[0] not in (Outcome.UNANSWERED, Outcome.NOT_MET):
            if question.type != "file" and scope is None:
                scope = logic.typed_visible(questionnaire, answers, shown)
            if question.type == "file" or logic.evidence_required(question, scope or {}, now):
                judged = (Outcome.NOT_MET, f"The evidence expired on {format_day(ran_out)}")
        checked.append((question, rule, judged))
    # Two passes: a finding's share of the score needs the total at stake.
    outcomes = [reviews[q.id].outcome if q.id in reviews else judged[0] for q, _, judged in checked]
    weights = [SEVERITY_WEIGHTS.get(rule.severity, 0) for _, rule, _ in checked]
    possible = sum(w for w, o in zip(weights, outcomes, strict=True) if o in EARNED)
    earned = sum(w * EARNED[o] for w, o in zip(weights, outcomes, strict=True) if o in EARNED)
    score = round(100 * earned / possible) if possible else None
    share = 100 / possible if possible else 0.0  # points per unit of weight
    # Positional: with keyword arguments a whole comparison took a sixth longer
    # (bench compare_per_s, old and new code taking turns in one process).
    found = [
        Finding(
            question,
            rule,
            judged[0],
            answers.get(question.id),
            judged[1],
            reviews.get(question.id),
            weight,
            round(share * weight * (1 - EARNED[outcome]), 1) if outcome in EARNED else 0.0,
        )
        for (question, rule, judged), outcome, weight in zip(
            checked, outcomes, weights, strict=True
        )
    ]
    rating, rating_reasons, rating_summary = _rating(found, score)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        # An Outcome is its own string value: no .value lookup in this loop.
        counts[outcome] = counts.get(outcome, 0) + 1
    return Comparison(
        findings=tuple(found),
        switched_off=tuple(switched_off),
        score=score,
        rating=rating,
        rating_reasons=rating_reasons,
        triage=triage(questionnaire, answers, now, submitted=submitted),
        counts=counts,
        rating_summary=rating_summary,
        information=tuple(information),
    )


def _rating(found: list[Finding], score: int | None) -> tuple[str | None, tuple[str, ...], str]:
    """Red, amber or green, with the reasons in words and one sentence saying
    what decided it.

    The score alone could hide one critical gap among many small wins, so any
    critical requirement not fully met makes the rating red and any major one
    amber, whatever the score.
    """
    if score is None:
        return None, (), ""
    gaps = {"critical": 0, "major": 0, "minor": 0}
    for finding in found:
        if finding.review is None and finding.computed in MET_OR_UNJUDGED:
            continue  # the common case, decided without the properties below
        if finding.gap:
            gaps[finding.requirement.severity] += 1
    reasons: list[str] = []
    rating = "green" if score >= GREEN_FROM else "amber" if score >= AMBER_FROM else "red"
    if gaps["critical"]:
        rating = "red"
        reasons.append(f"{_plural(gaps['critical'], 'critical requirement')} not fully met")
    if gaps["major"]:
        if rating == "green":
            rating = "amber"
        reasons.append(f"{_plural(gaps['major'], 'major requirement')} not fully met")
    if gaps["minor"]:
        reasons.append(f"{_plural(gaps['minor'], 'minor requirement')} not fully met")
    reasons.append(f"Score {score} out of 100 (green from {GREEN_FROM}, amber from {AMBER_FROM})")
    return rating, tuple(reasons), _summary(rating, score, gaps)


def _summary(rating: str, score: int, gaps: Mapping[str, int]) -> str:
    """'Red because 2 critical requirements are not met (score 91 out of 100)':
    a high score beside a red rating must never stand without its reason."""
    by_score = "green" if score >= GREEN_FROM else "amber" if score >= AMBER_FROM else "red"
    label = RATING_LABELS[rating]
    decided_by = {"red": "critical", "amber": "major"}.get(rating)
    count = gaps.get(decided_by, 0) if decided_by else 0
    if count and rating != by_score:
        verb = "is" if count == 1 else "are"
        return (
            f"{label} because {_plural(count, f'{decided_by} requirement')} {verb} not fully "
            f"met (score {score} out of 100)"
        )
    if rating == "green":
        return f"{label}: score {score} out of 100, and no critical or major requirement unmet"
    threshold = GREEN_FROM if rating == "amber" else AMBER_FROM
    return f"{label} because the score is {score} out of 100 (below {threshold})" + (
        f", and {_plural(count, f'{decided_by} requirement')} "
        f"{'is' if count == 1 else 'are'} not fully met"
        if count
        else ""
    )


def triage(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    today: date | None = None,
    *,
    submitted: bool = False,
) -> TriageResult | None:
    """The highest risk of every rule that matches, or may match while answers
    are unknown: an unknown answer never lowers the risk. Once the response is
    submitted, a question hidden by its show_if was not asked: counting it
    gives 0, so no rule gives a reason that is false for this supplier."""
    if questionnaire.triage is None:
        return None
    scope = logic.visible_answers(questionnaire, answers, today)
    risk = questionnaire.triage.default
    reasons: list[str] = []
    uncertain: list[str] = []
    for rule in questionnaire.triage.rules:
        if rule.when_node is None:
            continue
        result = evaluate(rule.when_node, scope, today, complete=submitted)
        if result is True or result is UNKNOWN:
            (reasons if result is True else uncertain).append(rule.reason)
            if RISKS.index(rule.risk) > RISKS.index(risk):
                risk = rule.risk
    return TriageResult(
        risk=risk,
        reasons=tuple(reasons),
        next_step=questionnaire.triage.next_step(risk),
        uncertain=tuple(uncertain),
    )


__all__ = [
    "Check",
    "Comparison",
    "Finding",
    "FindingGroup",
    "Outcome",
    "Review",
    "TriageResult",
    "check_answer",
    "compare",
    "effective_requirements",
    "expected_words",
    "stricter_problem",
    "triage",
]
