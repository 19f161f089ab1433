"""Answers from assessments a supplier already has (issue 25): a mapping file
(``questionnaires/mappings/*.toml``) says where a foreign workbook (a CSA
CAIQ, an EDUCAUSE HECVAT) keeps each question's id, answer and comment, and
which of its questions answer which of ours, with how their answers
translate. The file format is in questionnaires/README.md.

Proposals only: the portal copies them in marked as such, and the supplier
confirms each section, as with answers reused from an earlier submission.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .definition import CHOICE_TYPES, NUMBER_TYPES, TEXT_TYPES, Questionnaire

# A yes/no answer as these formats write it, in any case.
DEFAULT_VALUES = {"yes": "yes", "y": "yes", "no": "no", "n": "no", "na": "na", "n/a": "na"}
TAKES = ("answer", "comment")


class MappingError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Layout:
    """Where the foreign workbook keeps things: its sheets (each a name, or the
    start of one; the first holding an id wins), and the id, answer and
    comment columns, each either a heading (the heading row is found, within
    the first rows, by the id's heading; a heading matches by how it starts)
    or a column letter (HECVAT's section blocks have no heading over the id)."""

    sheets: tuple[str, ...]
    id_column: str
    answer_column: str
    comment_column: str = ""
    id_pattern: str = ""  # a row counts only if its id matches (regular expression)

    @property
    def sheet(self) -> str:
        return self.sheets[0]


@dataclass(frozen=True)
class Mapped:
    question: str  # our question id
    sources: tuple[str, ...]  # the foreign question ids, the first answered one used
    take: str = "answer"  # or "comment": the foreign comment is our (text) answer
    values: Mapping[str, Any] = field(default_factory=dict)  # foreign answer -> ours
    own_values: bool = False  # the file gave this question its own translation


@dataclass(frozen=True)
class AssessmentMapping:
    name: str  # the file's stem
    title: str  # "CSA CAIQ v4", as a supplier knows it
    questionnaire: str  # our questionnaire key
    version: int  # the version it was written for
    layout: Layout
    answers: tuple[Mapped, ...]

    @property
    def answered(self) -> int:
        return len(self.answers)


@dataclass(frozen=True)
class Proposal:
    value: Any
    source: str  # the foreign question id
    comment: str


def load_mapping(path: Path) -> AssessmentMapping:
    """Read one mapping file; MappingError names every problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError([f"{path.name}: not valid TOML: {exc}"]) from exc
    problems: list[str] = []
    for key in ("title", "questionnaire", "version", "layout", "answers"):
        if key not in data:
            problems.append(f"{path.name}: '{key}' is missing")
    if problems:
        raise MappingError(problems)
    raw_layout = data["layout"]
    sheets = raw_layout.get("sheets", [raw_layout.get("sheet", "")])
    layout = Layout(
        sheets=tuple(str(s) for s in sheets if s),
        id_column=str(raw_layout.get("id_column", "")),
        answer_column=str(raw_layout.get("answer_column", "")),
        comment_column=str(raw_layout.get("comment_column", "")),
        id_pattern=str(raw_layout.get("id_pattern", "")),
    )
    if not layout.sheets:
        problems.append(f"{path.name}: layout: 'sheet' (or 'sheets') is missing")
    for key in ("id_column", "answer_column"):
        if not getattr(layout, key):
            problems.append(f"{path.name}: layout: '{key}' is missing")
    if layout.id_pattern:
        try:
            re.compile(layout.id_pattern)
        except re.error as exc:
            problems.append(f"{path.name}: layout: id_pattern is not a regular expression: {exc}")
    defaults = {str(k).casefold(): v for k, v in data.get("values", DEFAULT_VALUES).items()}
    answers = []
    for index, raw in enumerate(data["answers"], start=1):
        where = f"{path.name}: answers #{index}"
        question = raw.get("question")
        sources = raw.get("from")
        sources = [sources] if isinstance(sources, str) else sources
        take = raw.get("take", "answer")
        if not isinstance(question, str) or not question:
            problems.append(f"{where}: 'question' is missing")
            continue
        if (
            not isinstance(sources, list)
            or not sources
            or not all(isinstance(s, str) for s in sources)
        ):
            problems.append(f"{where} ({question}): 'from' must name the foreign question id(s)")
            continue
        if take not in TAKES:
            problems.append(f"{where} ({question}): take must be answer or comment")
        values = {str(k).casefold(): v for k, v in raw.get("values", defaults).items()}
        answers.append(Mapped(question, tuple(sources), take, values, "values" in raw))
    if problems:
        raise MappingError(problems)
    return AssessmentMapping(
        name=path.stem,
        title=str(data["title"]),
        questionnaire=str(data["questionnaire"]),
        version=int(data["version"]),
        layout=layout,
        answers=tuple(answers),
    )


def load_mappings(folder: Path) -> list[AssessmentMapping]:
    """Every mapping file in the folder (none if there is no folder);
    MappingError naming every broken one."""
    found, broken = load_each(folder)
    if broken:
        raise MappingError([line for problems in broken.values() for line in problems])
    return found


def load_each(folder: Path) -> tuple[list[AssessmentMapping], dict[str, list[str]]]:
    """The mapping files that load, and each broken one's problems by file
    name: a broken file must not take the others (or a page) down with it."""
    found: list[AssessmentMapping] = []
    broken: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        if path.name == SAME_MEANING:
            continue
        try:
            found.append(load_mapping(path))
        except MappingError as exc:
            broken[path.stem] = exc.problems
    return found, broken


def check(mapping: AssessmentMapping, questionnaire: Questionnaire) -> list[str]:
    """Why the mapping does not fit the questionnaire version it names."""
    where = f"{mapping.name}.toml"
    problems = []
    seen: set[str] = set()
    for entry in mapping.answers:
        try:
            question = questionnaire.question(entry.question)
        except KeyError:
            problems.append(
                f"{where}: {questionnaire.key} version {questionnaire.version} has no question "
                f"{entry.question!r}"
            )
            continue
        if entry.question in seen:
            problems.append(f"{where}: {entry.question} is mapped twice")
        seen.add(entry.question)
        if not question.answerable or question.type in ("file", "table"):
            problems.append(f"{where}: {entry.question} is a {question.type}: it cannot be copied")
            continue
        if entry.take == "comment" and question.type not in TEXT_TYPES:
            problems.append(
                f"{where}: {entry.question} takes a comment, so it must be a text question"
            )
        if entry.own_values and question.type in CHOICE_TYPES - {"multi_choice"}:
            allowed = {c.value for c in question.choices}
            wrong = sorted({str(v) for v in entry.values.values()} - allowed)
            if wrong:
                problems.append(
                    f"{where}: {entry.question}: {', '.join(wrong)} is not one of its answers "
                    f"({', '.join(sorted(allowed))})"
                )
        if entry.take == "answer" and question.type in NUMBER_TYPES | {"multi_choice", "date"}:
            problems.append(
                f"{where}: {entry.question} is a {question.type}: only choices and text are copied"
            )
    return problems


def propose(
    mapping: AssessmentMapping,
    questionnaire: Questionnaire,
    rows: Mapping[str, tuple[Any, Any]],
) -> dict[str, Proposal]:
    """Our answers from the foreign workbook's rows (id -> (answer, comment)):
    only those that translate; nothing for an answer the mapping does not
    know (the supplier answers those themselves)."""
    found: dict[str, Proposal] = {}
    for entry in mapping.answers:
        try:
            question = questionnaire.question(entry.question)
        except KeyError:
            continue
        for source in entry.sources:
            answer, comment = rows.get(source.casefold(), (None, None))
            text = "" if answer is None else str(answer).strip()
            note = "" if comment is None else str(comment).strip()
            if entry.take == "comment":
                if note:
                    found[question.id] = Proposal(note, source, "")
                    break
                continue
            if not text:
                continue
            value = entry.values.get(text.casefold())
            if value is None and question.type in TEXT_TYPES:
                value = text
            if question.choices and value not in {c.value for c in question.choices}:
                value = None  # "NA" to a yes-or-no question: the supplier answers it
            if value is None:
                continue
            found[question.id] = Proposal(value, source, note if question.comment else "")
            break
    return found


# Questions of two of our questionnaires that ask the same thing (issue 25):
# an answer a supplier gave to one is offered for the other, as a reused
# answer is. Declared in this file of the mappings folder.
SAME_MEANING = "same_meaning.toml"


@dataclass(frozen=True)
class Meaning:
    name: str
    questions: tuple[tuple[str, str], ...]  # (questionnaire key, question id)


def load_meanings(folder: Path) -> list[Meaning]:
    path = folder / SAME_MEANING
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError([f"{SAME_MEANING}: not valid TOML: {exc}"]) from exc
    found, problems = [], []
    for index, raw in enumerate(data.get("same", []), start=1):
        name = str(raw.get("meaning", f"#{index}"))
        pairs = []
        for item in raw.get("questions", []):
            key, _, qid = str(item).partition(".")
            if not key or not qid:
                problems.append(
                    f"{SAME_MEANING}: {name}: {item!r} must be questionnaire_key.question_id"
                )
            pairs.append((key, qid))
        if len(pairs) < 2:
            problems.append(f"{SAME_MEANING}: {name}: name at least two questions")
        found.append(Meaning(name, tuple(pairs)))
    if problems:
        raise MappingError(problems)
    return found


def related_keys(meanings: list[Meaning], key: str) -> set[str]:
    """The questionnaires sharing at least one question's meaning with ``key``, and itself."""
    keys = {key}
    for meaning in meanings:
        if any(k == key for k, _ in meaning.questions):
            keys |= {k for k, _ in meaning.questions}
    return keys


def translation(meanings: list[Meaning], source_key: str, target_key: str) -> dict[str, str]:
    """Source question id -> target question id for the questions that share a meaning."""
    found = {}
    for meaning in meanings:
        sources = [q for k, q in meaning.questions if k == source_key]
        targets = [q for k, q in meaning.questions if k == target_key]
        if sources and targets:
            found[sources[0]] = targets[0]
    return found


def check_meanings(meanings: list[Meaning], current: Mapping[str, Questionnaire]) -> list[str]:
    """Each named question exists in its questionnaire's current version, and
    the questions of one meaning take the same kind of answer."""
    problems = []
    for meaning in meanings:
        kinds = set()
        for key, qid in meaning.questions:
            questionnaire = current.get(key)
            if questionnaire is None:
                problems.append(f"{SAME_MEANING}: {meaning.name}: there is no questionnaire {key}")
                continue
            try:
                question = questionnaire.question(qid)
            except KeyError:
                problems.append(f"{SAME_MEANING}: {meaning.name}: {key} has no question {qid}")
                continue
            kinds.add((question.type, tuple(c.value for c in question.choices)))
        if len(kinds) > 1:
            problems.append(
                f"{SAME_MEANING}: {meaning.name}: its questions take different answers "
                "(type or choices): an answer to one would not fit the other"
            )
    return problems


COLUMN_LETTERS = re.compile(r"^[A-Z]{1,2}$")


def column_index(column: str) -> int | None:
    """A column letter's position from 0 (B is 1), or None for a heading."""
    if not COLUMN_LETTERS.match(column):
        return None
    index = 0
    for letter in column:
        index = index * 26 + (ord(letter) - ord("A") + 1)
    return index - 1
