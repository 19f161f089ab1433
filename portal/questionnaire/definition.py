"""Load questionnaire definition files into frozen dataclasses.

A definition is validated as a whole when it loads, so a mistake in a file is
reported once, naming the file and the question, instead of surfacing as a
broken page in front of a supplier. The format is documented, with a complete
example, in ``questionnaires/README.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from .conditions import ExpressionError, Node, check_types, evaluate, names, parse
from .expiry import KINDS, Life, parse_expires

AUDIENCES = frozenset({"it_support", "cloud", "screening", "self_assessment", "dpia"})
# Answered by the organisation's own staff, signed in: never sent to a supplier.
STAFF_AUDIENCES = frozenset({"self_assessment", "dpia"})
SEVERITIES = ("critical", "major", "minor")
RISKS = ("low", "medium", "high")
# What a yes_no_na "Not applicable" means to a requirement (Requirement.na).
NA_RULES = ("review", "accept", "fail")
RACI_ROLES = ("responsible", "accountable", "consulted", "informed")

NUMBER_TYPES = frozenset({"integer", "decimal", "money_gbp", "percent"})
CHOICE_TYPES = frozenset({"yes_no", "yes_no_na", "single_choice", "multi_choice"})
TEXT_TYPES = frozenset({"text", "long_text", "email", "url"})

# Extra keys each type accepts beyond COMMON_KEYS.
QUESTION_TYPES: dict[str, frozenset[str]] = {
    "yes_no": frozenset(),
    "yes_no_na": frozenset(),
    "single_choice": frozenset({"choices"}),
    "multi_choice": frozenset({"choices"}),
    "text": frozenset({"placeholder"}),
    "long_text": frozenset({"placeholder"}),
    "integer": frozenset({"min", "max", "unit"}),
    "decimal": frozenset({"min", "max", "unit"}),
    "money_gbp": frozenset({"min", "max"}),
    "percent": frozenset({"min", "max"}),
    "date": frozenset(),
    "email": frozenset({"placeholder"}),
    "url": frozenset({"placeholder"}),
    "file": frozenset({"accept", "max_size_mb", "max_files"}),
    "table": frozenset({"columns", "min_rows", "max_rows"}),
    "note": frozenset(),
}
COMMON_KEYS = frozenset(
    {
        "id", "label", "help", "type", "required", "comment", "show_if", "required_if",
        "constraint", "constraint_message", "evidence", "requirement", "raci", "prefill",
        "evidence_kind", "expires",
    }
)  # fmt: skip
COLUMN_TYPES = frozenset(QUESTION_TYPES) - {"file", "table", "note"}
COLUMN_KEYS = frozenset({"id", "label", "help", "type", "required"})
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Where a staff questionnaire's answer may be copied from: another
# questionnaire's question ("cloud_supplier.hosting_location"), or what the
# portal knows of the request ("request.supplier", see services/school/dpia.py).
PREFILL_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_]{0,62}$")
# Kept for an organisation's own extra questions (questionnaire/supplement.py):
# a questionnaire may not use them, so a new version never clashes with them.
OWN_PREFIX = "local_"
SECTION_ID = "local_questions"
DEFAULT_ACCEPT = ("pdf", "docx", "xlsx", "png", "jpg")
# The file types whose content the portal can check (services/platform/filetypes.py).
FILE_TYPES = frozenset({"pdf", "png", "jpg", "jpeg", "docx", "xlsx", "pptx", "csv", "txt"})

# The kind of value each type gives an expression (see conditions.check_types).
EXPRESSION_KINDS = {
    **{t: "text" for t in {"yes_no", "yes_no_na", "single_choice"} | TEXT_TYPES},
    "multi_choice": "choices",
    **{t: "number" for t in NUMBER_TYPES},
    "date": "date",
    "table": "rows",
    "file": "files",
}

# Which requirement operators make sense for which types; None: any answerable type.
OPERATORS: dict[str, frozenset[str] | None] = {
    "equals": CHOICE_TYPES - {"multi_choice"} | NUMBER_TYPES | TEXT_TYPES,
    "not_equals": CHOICE_TYPES - {"multi_choice"} | NUMBER_TYPES | TEXT_TYPES,
    "in": CHOICE_TYPES - {"multi_choice"} | TEXT_TYPES,
    "not_in": CHOICE_TYPES - {"multi_choice"} | TEXT_TYPES,
    "includes_all": frozenset({"multi_choice"}),
    "includes_any": frozenset({"multi_choice"}),
    "min": NUMBER_TYPES | {"table", "file", "multi_choice"},
    "max": NUMBER_TYPES | {"table", "file", "multi_choice"},
    "date_after_today": frozenset({"date"}),
    "within_days": frozenset({"date"}),
    "present": None,
    "info": None,
}
OPERATORS_WITHOUT_VALUE = frozenset({"date_after_today", "present", "info"})

YES_NO = (("yes", "Yes"), ("no", "No"))
YES_NO_NA = (*YES_NO, ("na", "Not applicable"))


class DefinitionError(Exception):
    """A definition is not valid; ``problems`` has one line per fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Requirement:
    """What a school expects of an answer: the questionnaire's baseline, or a
    trust's or school's own rule in its place (see compare.effective_requirements)."""

    operator: str
    value: Any
    severity: str
    rationale: str
    maps_to: tuple[str, ...]
    # What a date is the date of, for words like "Cyber Essentials expired on ...".
    subject: str = ""
    # A profile may switch a requirement off; ``note`` says why the rule differs.
    off: bool = False
    note: str = ""
    # "baseline", "trust" or "school": whose rule this is.
    source: str = "baseline"
    # What a yes_no_na answer of "not applicable" means here, unless ``value``
    # names "na" itself: "review" (a gap until a reviewer accepts it), "accept"
    # (not judged) or "fail" (not met). See NA_RULES.
    na: str = "review"


@dataclass(frozen=True)
class Raci:
    responsible: tuple[str, ...]
    accountable: str
    consulted: tuple[str, ...]
    informed: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    id: str
    label: str
    type: str
    help: str = ""
    required: bool = True
    comment: bool = False
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    unit: str = ""
    placeholder: str = ""
    show_if: str = ""
    required_if: str = ""
    constraint: str = ""
    constraint_message: str = ""
    evidence: str = "none"
    accept: tuple[str, ...] = ()
    max_size_mb: int = 10
    max_files: int = 1
    columns: tuple[Question, ...] = ()
    min_rows: int = 0
    max_rows: int = 100
    requirement: Requirement | None = None
    raci: Raci | None = None
    prefill: tuple[str, ...] = ()
    # What its files are and how their expiry is known (questionnaire/expiry.py).
    evidence_kind: str = ""
    expires: str = ""
    # Parsed expressions, kept beside their text; not part of equality or hashing.
    show_if_node: Node | None = field(default=None, compare=False, repr=False)
    required_if_node: Node | None = field(default=None, compare=False, repr=False)
    constraint_node: Node | None = field(default=None, compare=False, repr=False)
    evidence_node: Node | None = field(default=None, compare=False, repr=False)

    @property
    def answerable(self) -> bool:
        return self.type != "note"

    @property
    def takes_files(self) -> bool:
        """A file question, or one with evidence files beside its answer."""
        return self.type == "file" or self.evidence != "none"

    @property
    def life(self) -> Life | None:
        """How this question's evidence expiry is known; None when it is not tracked."""
        if not self.expires:
            return None
        parsed = parse_expires(self.expires)
        if isinstance(parsed, str):
            return None  # refused when the questionnaire was read
        source, answer_id, months = parsed
        return Life(self.evidence_kind or "other", source, answer_id, months)

    def choice_label(self, value: str) -> str:
        for choice in self.choices:
            if choice.value == value:
                return choice.label
        return value

    def column(self, column_id: str) -> Question:
        for column in self.columns:
            if column.id == column_id:
                return column
        raise KeyError(column_id)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str
    questions: tuple[Question, ...]

    @property
    def takes_files(self) -> bool:
        """Whether any question here is a file upload or takes evidence files."""
        return any(q.takes_files for q in self.questions)

    @property
    def answerable(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.answerable)


@dataclass(frozen=True)
class TriageRule:
    when: str
    risk: str
    reason: str
    when_node: Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Triage:
    default: str
    rules: tuple[TriageRule, ...]
    next_steps: tuple[tuple[str, str], ...]

    def next_step(self, risk: str) -> str:
        return dict(self.next_steps).get(risk, "")


@dataclass(frozen=True)
class Questionnaire:
    key: str
    version: int
    title: str
    audience: str
    description: str
    sections: tuple[Section, ...]
    privacy_notice: str = ""
    triage: Triage | None = None
    snapshot: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    sha256: str = field(default="", compare=False)

    @property
    def answered_by_staff(self) -> bool:
        """The organisation's own staff answer it (a self-assessment, a DPIA):
        it is never sent to a supplier, profiled or listed in the directory."""
        return self.audience in STAFF_AUDIENCES

    def questions(self) -> Iterator[Question]:
        for section in self.sections:
            yield from section.questions

    def question(self, question_id: str) -> Question:
        return self._by_id[question_id]

    @cached_property
    def _by_id(self) -> dict[str, Question]:
        # Looked up for every answer on every comparison: a dict, built once.
        # (cached_property writes the instance dict directly, so frozen is kept.)
        return {question.id: question for question in self.questions()}

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def section_of(self, question_id: str) -> Section:
        for section in self.sections:
            if any(q.id == question_id for q in section.questions):
                return section
        raise KeyError(question_id)

    @property
    def question_count(self) -> int:
        return sum(1 for q in self.questions() if q.answerable)


def canonical_json(snapshot: Mapping[str, Any]) -> str:
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def snapshot_sha256(snapshot: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(snapshot).encode()).hexdigest()


def load_file(path: Path) -> Questionnaire:
    """Read and validate one TOML definition; problems name the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionError([f"{path.name}: not valid TOML: {exc}"]) from exc
    try:
        return questionnaire_from_snapshot(data)
    except DefinitionError as exc:
        raise DefinitionError([f"{path.name}: {line}" for line in exc.problems]) from exc


def reserved_problems(questionnaire: Questionnaire) -> list[str]:
    """Why a questionnaire may not be published as it is: it uses the ids
    kept for organisations' own questions."""
    problems = [
        f"section {section.id}: a section's id may not start {OWN_PREFIX}: that is kept "
        "for schools' own questions"
        for section in questionnaire.sections
        if section.id.startswith(OWN_PREFIX)
    ]
    problems += [
        f"question {q.id}: a question's id may not start {OWN_PREFIX}: that is kept for "
        "schools' own questions"
        for q in questionnaire.questions()
        if q.id.startswith(OWN_PREFIX)
    ]
    return problems


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    questionnaire: Questionnaire


def load_directory(folder: Path) -> list[Questionnaire]:
    """Load every ``*.toml`` in a folder; collect all problems before raising."""
    return [loaded.questionnaire for loaded in load_files(folder)]


def load_files(folder: Path) -> list[LoadedFile]:
    """Like load_directory, keeping the path each questionnaire came from."""
    loaded: list[LoadedFile] = []
    problems: list[str] = []
    seen: dict[tuple[str, int], str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            questionnaire = load_file(path)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        reserved = reserved_problems(questionnaire)
        if reserved:
            problems.extend(f"{path.name}: {line}" for line in reserved)
            continue
        ident = (questionnaire.key, questionnaire.version)
        if ident in seen:
            problems.append(
                f"{path.name}: key {ident[0]!r} version {ident[1]} is also defined in {seen[ident]}"
            )
            continue
        seen[ident] = path.name
        loaded.append(LoadedFile(path, questionnaire))
    if problems:
        raise DefinitionError(problems)
    return loaded


def questionnaire_from_snapshot(data: Mapping[str, Any]) -> Questionnaire:
    """Build a Questionnaire from parsed TOML or a stored snapshot, or raise DefinitionError."""
    return _Builder(data).build()


def requirement_problems(question: Question, operator: str, value: Any, severity: str) -> list[str]:
    """Why a rule (from a school's profile) cannot apply to this question; empty if it can.

    The same checks a questionnaire file's requirement gets, in words for a form.
    """
    builder = _Builder({})
    raw: dict[str, Any] = {"operator": operator, "severity": severity}
    if value is not None:
        raw["value"] = list(value) if isinstance(value, tuple) else value
    builder._requirement(raw, question.type, question.choices, "rule")
    return [problem.removeprefix("rule: requirement: ") for problem in builder.problems]


class _Builder:
    """One pass over the raw data collecting every problem, then the checks that
    need the whole questionnaire (expressions, cycles)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[str] = []
        self.choice_lists: dict[str, tuple[Choice, ...]] = {}
        self.seen_ids: set[str] = set()
        self.note_ids: set[str] = set()

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def build(self) -> Questionnaire:
        data = self.data
        try:
            canonical_json(data)
        except (TypeError, ValueError) as exc:
            # TOML has date and time values; a snapshot is JSON, so dates are text.
            raise DefinitionError(
                [f"header: {exc}; write dates in quotes, like value = '2027-03-31'"]
            ) from exc
        for name in ("key", "version", "title", "audience", "sections"):
            if name not in data:
                self.fail("header", f"'{name}' is missing")
        if self.problems:
            raise DefinitionError(self.problems)
        key, version = data["key"], data["version"]
        if not isinstance(key, str) or not ID_PATTERN.match(key):
            self.fail("header", f"key {key!r} must be lower-case letters, digits and _")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.fail("header", f"version {version!r} must be a whole number from 1")
        audience = data["audience"]
        if not isinstance(audience, str) or audience not in AUDIENCES:
            self.fail(
                "header", f"audience {audience!r} must be one of {', '.join(sorted(AUDIENCES))}"
            )
        unknown = set(data) - {
            "key", "version", "title", "audience", "description", "privacy_notice",
            "choices", "sections", "triage",
        }  # fmt: skip
        if unknown:
            self.fail("header", f"unknown keys: {', '.join(sorted(unknown))}")
        # A triage makes a questionnaire a screening (risk, next step, a
        # follow-up to send): only a file that says it is one may have it.
        if "triage" in data and audience != "screening":
            self.fail(
                "triage",
                'only a screening has a triage: set audience = "screening", or remove '
                f"[triage] (a {audience} questionnaire is compared with requirements instead)",
            )
        if audience == "screening" and "triage" not in data:
            self.fail("header", "a screening needs a [triage] table: its risk and next step")
        self.choice_lists = self._choice_lists(data.get("choices", {}))
        raw_sections = data["sections"] if isinstance(data["sections"], list) else []
        section_ids: set[str] = set()
        sections = []
        for index, raw in enumerate(raw_sections):
            section = self._section(raw, index)
            if section.id in section_ids:
                self.fail(f"section {section.id}", "duplicate section id")
            section_ids.add(section.id)
            sections.append(section)
        if not sections:
            self.fail("header", "a questionnaire needs at least one section")
        questionnaire = Questionnaire(
            key=key,
            version=version,
            title=str(data["title"]),
            audience=audience,
            description=str(data.get("description", "")).strip(),
            privacy_notice=str(data.get("privacy_notice", "")).strip(),
            sections=tuple(sections),
            snapshot=json.loads(canonical_json(data)),
            sha256=snapshot_sha256(data),
        )
        if not self.problems:
            questionnaire = self._with_expressions(questionnaire)
            if audience == "self_assessment":
                for q in questionnaire.questions():
                    if q.answerable and q.raci is None:
                        self.fail(
                            f"question {q.id}", "a self-assessment question needs a raci table"
                        )
        if self.problems:
            raise DefinitionError(self.problems)
        return questionnaire

    # -- choices, sections, questions -------------------------------------

    def _choice_lists(self, raw: Any) -> dict[str, tuple[Choice, ...]]:
        lists: dict[str, tuple[Choice, ...]] = {}
        if not isinstance(raw, dict):
            self.fail("choices", "must be a table of named lists")
            return lists
        for name, items in raw.items():
            lists[name] = self._choices(items, f"choices.{name}")
        return lists

    def _choices(self, items: Any, where: str) -> tuple[Choice, ...]:
        if not isinstance(items, list) or not items:
            self.fail(where, "must be a non-empty list of {value, label}")
            return ()
        found: list[Choice] = []
        for item in items:
            if not isinstance(item, dict) or "value" not in item or "label" not in item:
                self.fail(where, "each choice needs a value and a label")
                continue
            choice = Choice(value=str(item["value"]), label=str(item["label"]))
            if any(c.value == choice.value for c in found):
                self.fail(where, f"choice value {choice.value!r} appears twice")
            found.append(choice)
        return tuple(found)

    def _section(self, raw: Any, index: int) -> Section:
        section_id = (
            str(raw.get("id", f"#{index + 1}")) if isinstance(raw, dict) else f"#{index + 1}"
        )
        if not isinstance(raw, dict) or not ID_PATTERN.match(section_id):
            self.fail(f"section {section_id}", "needs an id of lower-case letters, digits and _")
            return Section(id=section_id, title="", intro="", questions=())
        if not raw.get("title"):
            self.fail(f"section {section_id}", "needs a title")
        questions = tuple(
            q
            for q in (self._question(q_raw, section_id) for q_raw in raw.get("questions", []))
            if q
        )
        if not questions:
            self.fail(f"section {section_id}", "has no questions")
        return Section(
            id=section_id,
            title=str(raw.get("title", "")),
            intro=str(raw.get("intro", "")).strip(),
            questions=questions,
        )

    def _question(
        self, raw: Any, section_id: str, *, column_of: str | None = None
    ) -> Question | None:
        if not isinstance(raw, dict):
            self.fail(f"section {section_id}", "a question must be a table")
            return None
        qid = str(raw.get("id", "?"))
        where = f"question {column_of}.{qid}" if column_of else f"question {qid}"
        if not ID_PATTERN.match(qid):
            self.fail(where, "id must be lower-case letters, digits and _")
            return None
        if column_of is None:
            if qid in self.seen_ids:
                self.fail(where, "duplicate id")
                return None
            self.seen_ids.add(qid)
        qtype = raw.get("type")
        if not isinstance(qtype, str):
            self.fail(where, f'type must be a name, like "text", not {qtype!r}')
            return None
        allowed_types = COLUMN_TYPES if column_of else frozenset(QUESTION_TYPES)
        if qtype not in allowed_types:
            self.fail(
                where,
                f"unknown type {qtype!r}"
                if qtype not in QUESTION_TYPES
                else f"type {qtype} cannot be a table column",
            )
            return None
        allowed_keys = (COLUMN_KEYS if column_of else COMMON_KEYS) | QUESTION_TYPES[qtype]
        unknown = set(raw) - allowed_keys
        if unknown:
            self.fail(where, f"unknown keys for type {qtype}: {', '.join(sorted(unknown))}")
        if not raw.get("label"):
            self.fail(where, "needs a label")
        choices = self._question_choices(raw, qtype, where)
        bounds = self._bounds(raw, qtype, where)
        question = Question(
            id=qid,
            label=str(raw.get("label", "")),
            type=qtype,
            help=str(raw.get("help", "")).strip(),
            required=bool(raw.get("required", qtype != "note")) and qtype != "note",
            comment=bool(raw.get("comment", False)),
            choices=choices,
            min=bounds[0],
            max=bounds[1],
            unit=str(raw.get("unit", "")),
            placeholder=str(raw.get("placeholder", "")),
            show_if=str(raw.get("show_if", "")),
            required_if=str(raw.get("required_if", "")),
            constraint=str(raw.get("constraint", "")),
            constraint_message=str(raw.get("constraint_message", "")),
            evidence=str(raw.get("evidence", "none")),
            accept=self._accept(raw, where) if qtype == "file" else (),
            max_size_mb=self._positive(raw, "max_size_mb", 10, where),
            max_files=self._positive(raw, "max_files", 1, where),
            columns=self._columns(raw, qid, section_id, where) if qtype == "table" else (),
            min_rows=self._positive(raw, "min_rows", 0, where, allow_zero=True),
            max_rows=self._positive(raw, "max_rows", 100, where),
            requirement=self._requirement(raw.get("requirement"), qtype, choices, where, bounds),
            raci=self._raci(raw.get("raci"), where),
            prefill=self._prefill(raw.get("prefill", []), where),
            evidence_kind=str(raw.get("evidence_kind", "")),
            expires=str(raw.get("expires", "")),
        )
        self._check_life(question, where)
        if question.constraint and not question.constraint_message:
            self.fail(where, "a constraint needs a constraint_message saying what to fix")
        if question.required_if and "required" in raw:
            self.fail(where, "use either required or required_if, not both")
        if qtype == "table" and question.min_rows > question.max_rows:
            self.fail(where, "min_rows is more than max_rows")
        return question

    def _check_life(self, question: Question, where: str) -> None:
        """evidence_kind and expires: only where files are taken, in our words.
        (That an answer named by expires is a date question is checked once
        every question is known: _with_expressions.)"""
        if not (question.evidence_kind or question.expires):
            return
        if not question.takes_files:
            self.fail(
                where, "evidence_kind and expires need a file question, or evidence beside it"
            )
            return
        if question.evidence_kind and question.evidence_kind not in KINDS:
            self.fail(
                where,
                f"evidence_kind must be one of {', '.join(KINDS)}, not {question.evidence_kind!r}",
            )
        if question.expires:
            parsed = parse_expires(question.expires)
            if isinstance(parsed, str):
                self.fail(where, f"expires: {parsed}")

    def _prefill(self, raw: Any, where: str) -> tuple[str, ...]:
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            self.fail(where, 'prefill must be a list like ["cloud_supplier.hosting_location"]')
            return ()
        for item in raw:
            if not PREFILL_PATTERN.match(item):
                self.fail(where, f"prefill {item!r} must be questionnaire_key.question_id")
        return tuple(raw)

    def _question_choices(self, raw: dict[str, Any], qtype: str, where: str) -> tuple[Choice, ...]:
        if qtype == "yes_no":
            return tuple(Choice(v, label) for v, label in YES_NO)
        if qtype == "yes_no_na":
            return tuple(Choice(v, label) for v, label in YES_NO_NA)
        if qtype not in ("single_choice", "multi_choice"):
            return ()
        ref = raw.get("choices")
        if isinstance(ref, str):
            if ref not in self.choice_lists:
                self.fail(where, f"choice list {ref!r} is not defined")
            return self.choice_lists.get(ref, ())
        if ref is None:
            self.fail(where, f"a {qtype} question needs choices")
            return ()
        return self._choices(ref, where)

    def _bounds(
        self, raw: dict[str, Any], qtype: str, where: str
    ) -> tuple[float | None, float | None]:
        values: list[float | None] = []
        for name in ("min", "max"):
            value = raw.get(name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (qtype == "integer" and not isinstance(value, int))
            ):
                self.fail(where, f"{name} must be a {'whole ' if qtype == 'integer' else ''}number")
                value = None
            values.append(value)
        low, high = values
        if qtype == "percent":
            if any(v is not None and not 0 <= v <= 100 for v in (low, high)):
                self.fail(where, "a percentage's min and max must be between 0 and 100")
            low = 0 if low is None else low
            high = 100 if high is None else high
        if qtype == "money_gbp" and low is None:
            low = 0
        if low is not None and high is not None and low > high:
            self.fail(where, "min is more than max")
        return low, high

    def _positive(
        self, raw: dict[str, Any], name: str, default: int, where: str, allow_zero: bool = False
    ) -> int:
        value = raw.get(name, default)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < (0 if allow_zero else 1)
        ):
            self.fail(
                where, f"{name} must be a whole number of {'0' if allow_zero else '1'} or more"
            )
            return default
        return value

    def _accept(self, raw: dict[str, Any], where: str) -> tuple[str, ...]:
        accept = raw.get("accept", list(DEFAULT_ACCEPT))
        if not isinstance(accept, list) or not all(
            isinstance(a, str) and a.isalnum() for a in accept
        ):
            self.fail(where, "accept must be a list of file extensions, like ['pdf', 'docx']")
            return DEFAULT_ACCEPT
        unknown = sorted({a.lower() for a in accept} - FILE_TYPES)
        if unknown:
            self.fail(
                where,
                f"accept: {', '.join(unknown)} cannot be checked; use {', '.join(sorted(FILE_TYPES))}",
            )
        return tuple(a.lower() for a in accept)

    def _columns(
        self, raw: dict[str, Any], qid: str, section_id: str, where: str
    ) -> tuple[Question, ...]:
        items = raw.get("columns")
        if not isinstance(items, list) or not items:
            self.fail(where, "a table needs a list of columns")
            return ()
        columns = tuple(
            c for c in (self._question(item, section_id, column_of=qid) for item in items) if c
        )
        ids = [c.id for c in columns]
        for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
            self.fail(where, f"column {duplicate} appears twice")
        return columns

    def _requirement(
        self,
        raw: Any,
        qtype: str,
        choices: tuple[Choice, ...],
        where: str,
        bounds: tuple[float | None, float | None] = (None, None),
    ) -> Requirement | None:
        if raw is None:
            return None
        where = f"{where}: requirement"
        if not isinstance(raw, dict):
            self.fail(where, "must be a table")
            return None
        if qtype == "note":
            self.fail(where, "a note has no answer, so it cannot have a requirement")
            return None
        unknown = set(raw) - {
            "operator", "value", "severity", "rationale", "maps_to", "subject", "na",
        }  # fmt: skip
        if unknown:
            self.fail(where, f"unknown keys: {', '.join(sorted(unknown))}")
        operator = raw.get("operator")
        if not isinstance(operator, str) or operator not in OPERATORS:
            self.fail(where, f"operator {operator!r} must be one of {', '.join(OPERATORS)}")
            return None
        types = OPERATORS[operator]
        if types is not None and qtype not in types:
            self.fail(where, f"operator {operator} does not apply to a {qtype} question")
        value = raw.get("value")
        if operator in OPERATORS_WITHOUT_VALUE:
            if value is not None:
                self.fail(where, f"operator {operator} takes no value")
        else:
            self._check_requirement_value(operator, value, qtype, choices, where, bounds)
        severity = raw.get("severity", "minor" if operator == "info" else None)
        if severity not in SEVERITIES:
            self.fail(where, f"severity must be one of {', '.join(SEVERITIES)}")
        maps_to = raw.get("maps_to", [])
        if isinstance(maps_to, str):
            maps_to = [maps_to]
        if not isinstance(maps_to, list) or not all(isinstance(m, str) for m in maps_to):
            self.fail(where, "maps_to must be a list of references")
            maps_to = []
        na = self._na_rule(raw, operator, value, qtype, where)
        return Requirement(
            operator=operator,
            value=tuple(value) if isinstance(value, list) else value,
            severity=str(severity),
            rationale=str(raw.get("rationale", "")).strip(),
            maps_to=tuple(maps_to),
            subject=str(raw.get("subject", "")).strip(),
            na=na,
        )

    def _na_rule(
        self, raw: Mapping[str, Any], operator: str, value: Any, qtype: str, where: str
    ) -> str:
        if "na" not in raw:
            if (
                qtype == "yes_no_na"
                and self.data.get("audience") in STAFF_AUDIENCES
                and operator not in ("present", "info")
                and "na" not in (value if isinstance(value, list) else [value])
            ):
                # Nobody reviews a school's own answers: N/A would stay a gap for good.
                self.fail(
                    where,
                    "a school's own questionnaire has no reviewer to accept 'Not applicable': "
                    'say na = "accept" or na = "fail"',
                )
            return "review"
        na = raw["na"]
        if qtype != "yes_no_na":
            self.fail(
                where, "na applies only to a yes_no_na question (its 'Not applicable' answer)"
            )
            return "review"
        if na not in NA_RULES:
            self.fail(where, f"na {na!r} must be one of {', '.join(NA_RULES)}")
            return "review"
        if operator in ("present", "info"):
            self.fail(where, f"na has no effect with operator {operator}: remove it")
        elif "na" in (value if isinstance(value, list) else [value]):
            # The value already says what "na" means: two answers would disagree.
            self.fail(
                where,
                "value already includes 'na', so 'Not applicable' meets this rule: "
                "remove na, or take 'na' out of value",
            )
        return str(na)

    def _check_requirement_value(
        self,
        operator: str,
        value: Any,
        qtype: str,
        choices: tuple[Choice, ...],
        where: str,
        bounds: tuple[float | None, float | None] = (None, None),
    ) -> None:
        allowed = {c.value for c in choices}
        if operator in ("in", "not_in", "includes_all", "includes_any"):
            if not isinstance(value, list):
                self.fail(where, f"operator {operator} needs a list value")
                return
            if not value:
                self.fail(where, f"operator {operator} needs at least one value")
                return
            values = value
        elif operator in ("min", "max", "within_days"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.fail(where, f"operator {operator} needs a number value")
            elif operator == "within_days" and value <= 0:
                self.fail(where, "within_days needs a number of days of 1 or more")
            else:
                self._check_within_bounds(value, bounds, where)
            return
        else:
            if value is None:
                self.fail(where, f"operator {operator} needs a value")
                return
            values = [value]
        if allowed:
            for item in values:
                if str(item) not in allowed:
                    self.fail(
                        where,
                        f"value {item!r} is not one of the choices ({', '.join(sorted(allowed))})",
                    )
        elif qtype in NUMBER_TYPES and any(
            isinstance(v, bool) or not isinstance(v, int | float) for v in values
        ):
            self.fail(where, "value must be a number")
        elif qtype in NUMBER_TYPES:
            for item in values:
                self._check_within_bounds(item, bounds, where)

    def _check_within_bounds(
        self, value: float, bounds: tuple[float | None, float | None], where: str
    ) -> None:
        """A requirement no allowed answer can meet (or fail) is a mistake."""
        low, high = bounds
        if (low is None or value >= low) and (high is None or value <= high):
            return
        if low is not None and high is not None:
            accepted = f"between {low:g} and {high:g}"
        elif low is not None:
            accepted = f"{low:g} or more"
        else:
            accepted = f"{high:g} or less"
        self.fail(where, f"value {value:g} is outside what the question accepts ({accepted})")

    def _raci(self, raw: Any, where: str) -> Raci | None:
        if raw is None:
            return None
        where = f"{where}: raci"
        if not isinstance(raw, dict):
            self.fail(where, "must be a table")
            return None
        unknown = set(raw) - set(RACI_ROLES)
        if unknown:
            self.fail(where, f"unknown keys: {', '.join(sorted(unknown))}")
        accountable = raw.get("accountable")
        if not isinstance(accountable, str) or not accountable.strip():
            self.fail(where, "accountable must be exactly one role")
            accountable = ""

        def roles(name: str) -> tuple[str, ...]:
            value = raw.get(name, [])
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.fail(where, f"{name} must be a list of roles")
                return ()
            return tuple(value)

        responsible = roles("responsible")
        if not responsible:
            self.fail(where, "responsible needs at least one role")
        return Raci(responsible, str(accountable), roles("consulted"), roles("informed"))

    # -- expressions -------------------------------------------------------

    def _with_expressions(self, questionnaire: Questionnaire) -> Questionnaire:
        """Parse and type-check every expression; check show_if/required_if for cycles."""
        kinds = {q.id: EXPRESSION_KINDS[q.type] for q in questionnaire.questions() if q.answerable}
        types = {q.id: q.type for q in questionnaire.questions()}
        self.note_ids = {q.id for q in questionnaire.questions() if q.type == "note"}
        choice_values = {
            q.id: frozenset(c.value for c in q.choices)
            for q in questionnaire.questions()
            if q.choices
        }
        depends: dict[str, set[str]] = {}
        sections = []
        for section in questionnaire.sections:
            questions = []
            for q in section.questions:
                nodes: dict[str, Node | None] = {}
                for name in ("show_if", "required_if", "constraint", "evidence"):
                    text = getattr(q, name)
                    if name == "evidence" and text in ("none", "optional", "required"):
                        nodes[name] = None
                        continue
                    if name == "evidence" and ID_PATTERN.match(text) and text not in kinds:
                        self.fail(
                            f"question {q.id}: evidence",
                            f"{text!r} is not none, optional or required, nor a condition "
                            "on other answers",
                        )
                        nodes[name] = None
                        continue
                    if not text:
                        nodes[name] = None
                        continue
                    scope = (
                        {**kinds, "value": kinds[q.id]}
                        if name == "constraint" and q.id in kinds
                        else kinds
                    )
                    nodes[name] = self._expression(
                        text, scope, choice_values, f"question {q.id}: {name}"
                    )
                life = q.life
                if life is not None and life.source == "answer":
                    named = types.get(life.answer_id)
                    if named != "date":
                        self.fail(
                            f"question {q.id}: expires",
                            f"{life.answer_id!r} is not a date question of this questionnaire"
                            if named is None
                            else f"{life.answer_id!r} is a {named} question: the expiry must "
                            "come from a date",
                        )
                if nodes["constraint"] is not None and q.requirement is not None:
                    self._check_value_meets_constraint(q, q.requirement, nodes["constraint"])
                depends[q.id] = {
                    ident
                    for key in ("show_if", "required_if")
                    if (node := nodes[key]) is not None
                    for ident in names(node)
                }
                questions.append(
                    replace(
                        q,
                        show_if_node=nodes["show_if"],
                        required_if_node=nodes["required_if"],
                        constraint_node=nodes["constraint"],
                        evidence_node=nodes["evidence"],
                    )
                )
            sections.append(Section(section.id, section.title, section.intro, tuple(questions)))
        self._check_cycles(depends)
        triage = self._triage(self.data.get("triage"), kinds, choice_values)
        return Questionnaire(
            key=questionnaire.key,
            version=questionnaire.version,
            title=questionnaire.title,
            audience=questionnaire.audience,
            description=questionnaire.description,
            privacy_notice=questionnaire.privacy_notice,
            sections=tuple(sections),
            triage=triage,
            snapshot=questionnaire.snapshot,
            sha256=questionnaire.sha256,
        )

    def _check_value_meets_constraint(
        self, q: Question, requirement: Requirement, constraint: Node
    ) -> None:
        """A requirement value no answer may take (the question's own constraint
        refuses it) can never be met, or never fail: a mistake in the file."""
        if requirement.operator == "within_days":
            return  # a number of days, not an answer the constraint could read
        value = requirement.value
        for item in value if isinstance(value, tuple) else (value,):
            if item is None or isinstance(item, bool):
                continue
            try:
                refused = evaluate(constraint, {q.id: item, "value": item}) is False
            except (TypeError, ValueError):
                continue  # not an answer of this question's kind: checked elsewhere
            if refused:
                self.fail(
                    f"question {q.id}: requirement",
                    f"value {item!r} breaks the question's own constraint ({q.constraint})",
                )

    def _expression(
        self,
        text: str,
        kinds: Mapping[str, str],
        choice_values: Mapping[str, frozenset[str]],
        where: str,
    ) -> Node | None:
        try:
            node = parse(text)
            notes = sorted(set(names(node)) & self.note_ids)
            if notes:
                self.problems.append(f"{where}: {notes[0]} is a note and has no answer")
                return None
            kind = check_types(node, kinds, choice_values)
        except ExpressionError as exc:
            self.problems.append(f"{where}: {exc}")
            return None
        if kind != "bool":
            self.problems.append(f"{where}: must be a condition (true or false), not a {kind}")
            return None
        return node

    def _check_cycles(self, depends: dict[str, set[str]]) -> None:
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        reported: set[frozenset[str]] = set()

        def visit(node: str, path: list[str]) -> None:
            state[node] = 1
            path.append(node)
            for nxt in sorted(depends.get(node, ())):
                if state.get(nxt) == 1:
                    cycle = path[path.index(nxt) :] + [nxt]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        self.fail(
                            f"question {nxt}",
                            "show_if/required_if form a cycle: " + " -> ".join(cycle),
                        )
                elif state.get(nxt) is None:
                    visit(nxt, path)
            path.pop()
            state[node] = 2

        for node in sorted(depends):
            if state.get(node) is None:
                visit(node, [])

    def _triage(
        self, raw: Any, kinds: Mapping[str, str], choice_values: Mapping[str, frozenset[str]]
    ) -> Triage | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.fail("triage", "must be a table")
            return None
        default = raw.get("default", "low")
        if default not in RISKS:
            self.fail("triage", f"default must be one of {', '.join(RISKS)}")
        rules = []
        for index, rule in enumerate(raw.get("rules", []), start=1):
            where = f"triage rule {index}"
            if not isinstance(rule, dict):
                self.fail(where, "must be a table with when, risk and reason")
                continue
            if rule.get("risk") not in RISKS:
                self.fail(where, f"risk must be one of {', '.join(RISKS)}")
            if not rule.get("reason"):
                self.fail(where, "needs a reason")
            node = self._expression(
                str(rule.get("when", "")), kinds, choice_values, f"{where}: when"
            )
            rules.append(
                TriageRule(
                    str(rule.get("when", "")),
                    str(rule.get("risk")),
                    str(rule.get("reason", "")),
                    node,
                )
            )
        if not rules:
            self.fail("triage", "needs at least one rule")
        next_steps = raw.get("next_steps", {})
        if not isinstance(next_steps, dict) or set(next_steps) != set(RISKS):
            self.fail("triage", "next_steps must give a step for each of low, medium and high")
            next_steps = {}
        return Triage(
            str(default),
            tuple(rules),
            tuple((risk, str(next_steps[risk])) for risk in RISKS if risk in next_steps),
        )
