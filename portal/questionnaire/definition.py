"""Load questionnaire definition files into frozen dataclasses.

A definition is validated as a whole at load time, so a mistake in a file is
reported once, with the file and question named, instead of surfacing as a
broken page in front of a supplier.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AUDIENCES = frozenset({"it_support", "cloud", "screening", "self_assessment"})

# Types and the extra keys each accepts beyond the common ones.
QUESTION_TYPES: dict[str, frozenset[str]] = {
    "yes_no": frozenset(),
    "yes_no_na": frozenset(),
    "single_choice": frozenset({"choices"}),
    "multi_choice": frozenset({"choices"}),
    "text": frozenset({"placeholder"}),
    "long_text": frozenset({"placeholder"}),
    "integer": frozenset({"min", "max", "unit"}),
    "date": frozenset(),
    "email": frozenset({"placeholder"}),
    "url": frozenset({"placeholder"}),
    "note": frozenset(),
}
COMMON_KEYS = frozenset({"id", "label", "help", "type", "required", "comment"})
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

YES_NO = (("yes", "Yes"), ("no", "No"))
YES_NO_NA = (*YES_NO, ("na", "Not applicable"))


class DefinitionError(Exception):
    """A definition file is not valid; ``problems`` has one line per fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    id: str
    label: str
    type: str
    help: str = ""
    required: bool = True
    comment: bool = False
    choices: tuple[Choice, ...] = ()
    min: int | None = None
    max: int | None = None
    unit: str = ""
    placeholder: str = ""

    @property
    def answerable(self) -> bool:
        return self.type != "note"

    def choice_label(self, value: str) -> str:
        for choice in self.choices:
            if choice.value == value:
                return choice.label
        return value


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str
    questions: tuple[Question, ...]

    @property
    def answerable(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.answerable)


@dataclass(frozen=True)
class Questionnaire:
    key: str
    version: int
    title: str
    audience: str
    description: str
    sections: tuple[Section, ...]
    privacy_notice: str = ""
    snapshot: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sha256(self) -> str:
        return snapshot_sha256(self.snapshot)

    def questions(self) -> Iterator[Question]:
        for section in self.sections:
            yield from section.questions

    def question(self, question_id: str) -> Question:
        for question in self.questions():
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    @property
    def question_count(self) -> int:
        return sum(1 for q in self.questions() if q.answerable)


def canonical_json(snapshot: Mapping[str, Any]) -> str:
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def snapshot_sha256(snapshot: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(snapshot).encode()).hexdigest()


def load_file(path: Path) -> Questionnaire:
    """Read and validate one TOML definition; raise DefinitionError naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionError([f"{path.name}: not valid TOML: {exc}"]) from exc
    try:
        return questionnaire_from_snapshot(data)
    except DefinitionError as exc:
        raise DefinitionError([f"{path.name}: {line}" for line in exc.problems]) from exc


def load_directory(folder: Path) -> list[Questionnaire]:
    """Load every ``*.toml`` in a folder; collect all problems before raising."""
    loaded: list[Questionnaire] = []
    problems: list[str] = []
    seen: dict[tuple[str, int], str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            questionnaire = load_file(path)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        ident = (questionnaire.key, questionnaire.version)
        if ident in seen:
            problems.append(
                f"{path.name}: key {ident[0]!r} version {ident[1]} is also defined in {seen[ident]}"
            )
            continue
        seen[ident] = path.name
        loaded.append(questionnaire)
    if problems:
        raise DefinitionError(problems)
    return loaded


def questionnaire_from_snapshot(data: Mapping[str, Any]) -> Questionnaire:
    """Build a Questionnaire from parsed TOML or a stored snapshot."""
    problems: list[str] = []
    for name in ("key", "version", "title", "audience", "sections"):
        if name not in data:
            problems.append(f"header: '{name}' is missing")
    if problems:
        raise DefinitionError(problems)
    key, version = data["key"], data["version"]
    if not isinstance(key, str) or not ID_PATTERN.match(key):
        problems.append(f"header: key {key!r} must be lower-case letters, digits and _")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(f"header: version {version!r} must be a whole number from 1")
    if data["audience"] not in AUDIENCES:
        problems.append(
            f"header: audience {data['audience']!r} must be one of {', '.join(sorted(AUDIENCES))}"
        )
    choice_lists = _choice_lists(data.get("choices", {}), problems)
    sections: list[Section] = []
    seen_ids: set[str] = set()
    for index, raw in enumerate(data["sections"]):
        sections.append(_section(raw, index, choice_lists, seen_ids, problems))
    if not sections:
        problems.append("header: a questionnaire needs at least one section")
    if problems:
        raise DefinitionError(problems)
    return Questionnaire(
        key=key,
        version=version,
        title=str(data["title"]),
        audience=data["audience"],
        description=str(data.get("description", "")),
        privacy_notice=str(data.get("privacy_notice", "")),
        sections=tuple(sections),
        snapshot=json.loads(canonical_json(data)),
    )


def _choice_lists(raw: Any, problems: list[str]) -> dict[str, tuple[Choice, ...]]:
    lists: dict[str, tuple[Choice, ...]] = {}
    if not isinstance(raw, dict):
        problems.append("choices: must be a table of named lists")
        return lists
    for name, items in raw.items():
        lists[name] = tuple(_choices(items, f"choices.{name}", problems))
    return lists


def _choices(items: Any, where: str, problems: list[str]) -> Iterator[Choice]:
    if not isinstance(items, list) or not items:
        problems.append(f"{where}: must be a non-empty list of {{value, label}}")
        return
    for item in items:
        if not isinstance(item, dict) or "value" not in item or "label" not in item:
            problems.append(f"{where}: each choice needs a value and a label")
            continue
        yield Choice(value=str(item["value"]), label=str(item["label"]))


def _section(
    raw: Any,
    index: int,
    choice_lists: dict[str, tuple[Choice, ...]],
    seen_ids: set[str],
    problems: list[str],
) -> Section:
    section_id = raw.get("id", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
    if not isinstance(raw, dict) or not ID_PATTERN.match(str(section_id)):
        problems.append(f"section {section_id}: needs an id of lower-case letters, digits and _")
        return Section(id=str(section_id), title="", intro="", questions=())
    questions = tuple(
        q
        for q in (
            _question(q_raw, section_id, choice_lists, seen_ids, problems)
            for q_raw in raw.get("questions", [])
        )
        if q is not None
    )
    if not questions:
        problems.append(f"section {section_id}: has no questions")
    return Section(
        id=section_id,
        title=str(raw.get("title", "")),
        intro=str(raw.get("intro", "")),
        questions=questions,
    )


def _question(
    raw: Any,
    section_id: str,
    choice_lists: dict[str, tuple[Choice, ...]],
    seen_ids: set[str],
    problems: list[str],
) -> Question | None:
    if not isinstance(raw, dict):
        problems.append(f"section {section_id}: a question must be a table")
        return None
    qid = str(raw.get("id", "?"))
    where = f"question {qid}"
    if not ID_PATTERN.match(qid):
        problems.append(
            f"{where}: id must be lower-case letters, digits and _ (section {section_id})"
        )
        return None
    if qid in seen_ids:
        problems.append(f"{where}: duplicate id")
        return None
    seen_ids.add(qid)
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        problems.append(f"{where}: unknown type {qtype!r}")
        return None
    unknown = set(raw) - COMMON_KEYS - QUESTION_TYPES[qtype]
    if unknown:
        problems.append(f"{where}: unknown keys for type {qtype}: {', '.join(sorted(unknown))}")
    if not raw.get("label"):
        problems.append(f"{where}: needs a label")
    choices: tuple[Choice, ...] = ()
    if qtype == "yes_no":
        choices = tuple(Choice(v, label) for v, label in YES_NO)
    elif qtype == "yes_no_na":
        choices = tuple(Choice(v, label) for v, label in YES_NO_NA)
    elif qtype in ("single_choice", "multi_choice"):
        ref = raw.get("choices")
        if isinstance(ref, str):
            if ref not in choice_lists:
                problems.append(f"{where}: choice list {ref!r} is not defined")
            choices = choice_lists.get(ref, ())
        else:
            choices = tuple(_choices(ref, where, problems))
    bounds = {name: raw.get(name) for name in ("min", "max")}
    for name, value in bounds.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            problems.append(f"{where}: {name} must be a whole number")
    return Question(
        id=qid,
        label=str(raw.get("label", "")),
        type=qtype,
        help=str(raw.get("help", "")),
        required=bool(raw.get("required", qtype != "note")) and qtype != "note",
        comment=bool(raw.get("comment", False)),
        choices=choices,
        min=bounds["min"],
        max=bounds["max"],
        unit=str(raw.get("unit", "")),
        placeholder=str(raw.get("placeholder", "")),
    )
