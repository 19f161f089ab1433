"""A questionnaire as the sheets of a workbook, and back (issue 24).

The layout follows XLSForm wherever the meaning is the same, so anyone who has
built a form in ODK or KoboToolbox recognises it: a ``survey`` sheet with a
row per question (``type``, ``name``, ``label``, ``hint``, ``required``,
``relevant``, ``constraint``...), ``begin group`` / ``end group`` around each
section and ``begin repeat`` / ``end repeat`` around a table's columns,
``select_one LIST`` and ``select_multiple LIST`` naming a list on the
``choices`` sheet, and the questionnaire's own details on ``settings``. What
XLSForm has no word for has a column of its own (the requirement, evidence,
RACI, prefill) or a sheet (``triage``). questionnaires/README.md documents
every column.

Both directions work on the definition's snapshot (the parsed TOML, as
stored): :func:`to_sheets` lays one out, :func:`from_sheets` reads it back to
the identical snapshot. Rows are plain dicts; portal/exports/
questionnaire_workbook.py writes and reads the .xlsx file itself. Every
problem found while reading names its sheet, row and column, and all of them
are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .definition import (
    NUMBER_TYPES,
    OPERATORS_WITHOUT_VALUE,
    DefinitionError,
    Questionnaire,
    questionnaire_from_snapshot,
    reserved_problems,
)

Cell = str | int | float | bool | None

SETTINGS, SURVEY, CHOICES, TRIAGE = "settings", "survey", "choices", "triage"

# settings: XLSForm's names first, then ours.
SETTINGS_COLUMNS = (
    "form_id", "version", "form_title", "audience", "description", "privacy_notice",
    "triage_default", "next_step_low", "next_step_medium", "next_step_high",
)  # fmt: skip
SETTINGS_KEYS = {
    "form_id": "key", "form_title": "title", "version": "version", "audience": "audience",
    "description": "description", "privacy_notice": "privacy_notice",
}  # fmt: skip
# A few other spellings people use for the same settings.
SETTINGS_ALIASES = {"key": "form_id", "title": "form_title", "id_string": "form_id"}
RISKS = ("low", "medium", "high")

# survey: a column per key of a question (or a table's column), in this order.
SURVEY_COLUMNS = (
    "type", "name", "label", "hint", "required", "required_if", "relevant", "constraint",
    "constraint_message", "comment", "evidence", "placeholder", "min", "max", "unit",
    "accept", "max_size_mb", "max_files", "evidence_kind", "expires", "min_rows", "max_rows",
    "prefill",
    "raci_responsible", "raci_accountable", "raci_consulted", "raci_informed",
    "requirement", "requirement_value", "severity", "rationale", "maps_to", "subject", "na",
)  # fmt: skip
# Question key -> survey column, where the two differ (XLSForm's words).
QUESTION_COLUMNS = {"id": "name", "help": "hint", "show_if": "relevant"}
PLAIN_KEYS = (
    "id", "label", "help", "show_if", "required_if", "constraint", "constraint_message",
    "evidence", "placeholder", "unit", "evidence_kind", "expires",
)  # fmt: skip
FLAG_KEYS = ("required", "comment")
NUMBER_KEYS = ("min", "max", "max_size_mb", "max_files", "min_rows", "max_rows")
LIST_KEYS = {"accept": ", ", "prefill": "\n"}
RACI_COLUMNS = {
    "responsible": "raci_responsible", "accountable": "raci_accountable",
    "consulted": "raci_consulted", "informed": "raci_informed",
}  # fmt: skip
REQUIREMENT_COLUMNS = {
    "operator": "requirement", "value": "requirement_value", "severity": "severity",
    "rationale": "rationale", "maps_to": "maps_to", "subject": "subject", "na": "na",
}  # fmt: skip
LIST_OPERATORS = frozenset({"in", "not_in", "includes_all", "includes_any"})
CHOICES_COLUMNS = ("list_name", "name", "label")
TRIAGE_COLUMNS = ("when", "risk", "reason")

# XLSForm's names for the types that mean the same; the rest keep ours.
XLSFORM_TYPES = {"single_choice": "select_one", "multi_choice": "select_multiple"}
OUR_TYPES = {name: ours for ours, name in XLSFORM_TYPES.items()}
# A choice list written inline in TOML (one question's own) is named after
# the question with this mark, so it comes back inline.
INLINE = "@"
YES = frozenset({"yes", "true", "true()", "1"})
NO = frozenset({"no", "false", "false()", "0"})
# ${question} is XLSForm's way to name a question in an expression.
XLSFORM_REFERENCE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


# An XLSForm made for ODK or KoboToolbox reads too. What it says for the
# device rather than the person answering is left out; what has no
# equivalent here is listed row by row, and nothing is stored.
XLSFORM_METADATA = frozenset({
    "start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber",
    "username", "audit", "start-geopoint",
})  # fmt: skip
XLSFORM_UNTRANSLATABLE_TYPES = frozenset({
    "calculate", "geopoint", "geotrace", "geoshape", "image", "audio", "video", "barcode",
    "range", "rank", "hidden", "xml-external", "csv-external", "select_one_from_file",
    "select_multiple_from_file", "select_one_external", "background-audio", "time",
    "datetime", "acknowledge", "trigger", "background-geopoint",
})  # fmt: skip
# Columns that only change how a form looks in ODK: read past.
XLSFORM_PRESENTATION = ("appearance", "guidance_hint", "required_message", "parameters",
                        "body::accept", "autoplay")  # fmt: skip
# Columns that change what a form does, with nothing here to do it.
XLSFORM_UNTRANSLATABLE_COLUMNS = ("calculation", "default", "read_only", "choice_filter",
                                  "repeat_count", "trigger", "image", "audio", "video",
                                  "big-image", "media::", "bind::", "instance::")  # fmt: skip
# Settings of an XLSForm that mean nothing here (where it submits, its style).
XLSFORM_SETTINGS = ("default_language", "style", "instance_name", "public_key",
                    "submission_url", "allow_choice_duplicates", "clean_text_values",
                    "namespaces", "auto_send", "auto_delete", "name", "id_string")  # fmt: skip
# Columns with a language after "::" (label::English (en)): the first stands
# in for the plain column when a form has none.
TRANSLATED = ("label", "hint", "constraint_message")


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, Cell]] = field(default_factory=list)


@dataclass(frozen=True)
class ReadRow:
    """A row as read from a workbook: its Excel row number and its cells by heading."""

    line: int
    cells: Mapping[str, Cell]

    def text(self, column: str) -> str:
        return cell_text(self.cells.get(column))


@dataclass(frozen=True)
class Problem:
    sheet: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.sheet
        if self.line is not None:
            where += f" row {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class WorkbookProblems(Exception):
    """The sheets do not make a questionnaire; ``problems`` lists every fault."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


# -- writing ---------------------------------------------------------------


def to_sheets(snapshot: Mapping[str, Any]) -> list[Sheet]:
    """The snapshot laid out as the workbook's sheets, in order."""
    settings = Sheet(SETTINGS, SETTINGS_COLUMNS)
    values: dict[str, Cell] = {
        column: snapshot.get(key) for column, key in SETTINGS_KEYS.items() if key in snapshot
    }
    triage = snapshot.get("triage")
    triage_sheet = Sheet(TRIAGE, TRIAGE_COLUMNS)
    if triage is not None:
        if "default" in triage:
            values["triage_default"] = triage["default"]
        for risk, step in triage.get("next_steps", {}).items():
            values[f"next_step_{risk}"] = step
        triage_sheet.rows.extend(
            {"when": rule.get("when"), "risk": rule.get("risk"), "reason": rule.get("reason")}
            for rule in triage.get("rules", [])
        )
    settings.rows.append(values)

    choices = Sheet(CHOICES, CHOICES_COLUMNS)
    for name, items in snapshot.get("choices", {}).items():
        choices.rows.extend(_choice_rows(name, items))
    survey = Sheet(SURVEY, SURVEY_COLUMNS)
    for section in snapshot.get("sections", []):
        survey.rows.append(
            _drop_none({"type": "begin group", "name": section.get("id"),
                        "label": section.get("title"), "hint": section.get("intro")})
        )  # fmt: skip
        for question in section.get("questions", []):
            survey.rows.extend(_question_rows(question, choices))
        survey.rows.append({"type": "end group", "name": section.get("id")})
    return [settings, survey, choices, triage_sheet]


def _question_rows(question: Mapping[str, Any], choices: Sheet) -> Iterator[dict[str, Cell]]:
    qid = str(question.get("id"))
    row = _question_row(question, choices, INLINE + qid)
    if question.get("type") != "table":
        yield row
        return
    row["type"] = "begin repeat"
    yield row
    for column in question.get("columns", []):
        yield _question_row(column, choices, f"{INLINE}{qid}.{column.get('id')}")
    yield {"type": "end repeat", "name": qid}


def _question_row(question: Mapping[str, Any], choices: Sheet, inline_name: str) -> dict[str, Cell]:
    row: dict[str, Cell] = {}
    qtype = question.get("type")
    row["type"] = XLSFORM_TYPES.get(str(qtype), qtype)
    listed = question.get("choices")
    if isinstance(listed, str):
        row["type"] = f"{row['type']} {listed}"
    elif listed is not None:
        row["type"] = f"{row['type']} {inline_name}"
        choices.rows.extend(_choice_rows(inline_name, listed))
    for key in PLAIN_KEYS:
        if key in question:
            row[QUESTION_COLUMNS.get(key, key)] = question[key]
    for key in FLAG_KEYS:
        if key in question:
            row[key] = "yes" if question[key] else "no"
    for key in NUMBER_KEYS:
        if key in question:
            row[key] = question[key]
    for key, separator in LIST_KEYS.items():
        if key in question:
            row[key] = separator.join(str(item) for item in question[key])
    raci = question.get("raci")
    if raci is not None:
        for key, column in RACI_COLUMNS.items():
            if key in raci:
                row[column] = raci[key] if key == "accountable" else "\n".join(raci[key])
    requirement = question.get("requirement")
    if requirement is not None:
        for key, column in REQUIREMENT_COLUMNS.items():
            if key not in requirement:
                continue
            value = requirement[key]
            row[column] = "\n".join(str(v) for v in value) if isinstance(value, list) else value
    return row


def _choice_rows(name: str, items: Any) -> Iterator[dict[str, Cell]]:
    for item in items:
        yield {"list_name": name, "name": item.get("value"), "label": item.get("label")}


def _drop_none(row: dict[str, Cell]) -> dict[str, Cell]:
    return {key: value for key, value in row.items() if value is not None}


# -- reading ---------------------------------------------------------------


def from_sheets(
    sheets: Mapping[str, Sequence[ReadRow]],
    also: Callable[[Questionnaire], list[str]] = reserved_problems,
) -> dict[str, Any]:
    """The snapshot the sheets describe, checked as a TOML file is and by
    ``also`` (by default, that it leaves schools' own ids alone); raises
    WorkbookProblems naming the sheet, row and column of every fault."""
    reader = _Reader(sheets)
    snapshot = reader.read()
    if reader.problems:
        raise WorkbookProblems(reader.problems)
    try:
        questionnaire = questionnaire_from_snapshot(snapshot)
    except DefinitionError as exc:
        raise WorkbookProblems([reader.locate(line) for line in exc.problems]) from exc
    problems = also(questionnaire)
    if problems:
        raise WorkbookProblems([reader.locate(line) for line in problems])
    return snapshot


def translate_expression(text: str) -> str:
    """An expression written with XLSForm's words in ours: ``${question}`` is
    the question's id, ``.`` this question's own answer (``value``), a single
    ``=`` is ``==`` and ``count-selected()`` is ``count()``. One already in our
    syntax comes back as it was. Text in quotes is never touched."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "'\"":
            end = index + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1  # an escaped quote stays inside
            end = min(end, len(text) - 1)
            out.append(text[index : end + 1])
            index = end + 1
            continue
        reference = XLSFORM_REFERENCE.match(text, index)
        if reference:
            out.append(reference.group(1))
            index = reference.end()
            continue
        if text.startswith("count-selected(", index):
            out.append("count(")
            index += len("count-selected(")
            continue
        before = text[index - 1] if index else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        if char == "." and not before.isalnum() and not after.isdigit() and after != ".":
            out.append("value")
        elif char == "=" and before not in "=!<>" and after != "=":
            out.append("==")
        else:
            out.append(char)
        index += 1
    return "".join(out)


def cell_text(value: Cell) -> str:
    """A cell as the text a person typed: 30, not 30.0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Reader:
    def __init__(self, sheets: Mapping[str, Sequence[ReadRow]]) -> None:
        self.sheets = sheets
        self.problems: list[Problem] = []
        # Where each definition item came from, to place the checker's problems.
        self.question_lines: dict[str, list[int]] = {}
        self.column_lines: dict[tuple[str, str], int] = {}
        self.section_lines: dict[str, int] = {}
        self.choice_lines: dict[str, int] = {}
        self.triage_lines: dict[str, int] = {}
        self.used_lists: set[str] = set()

    def fail(self, sheet: str, line: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(sheet, line, column, message))

    def read(self) -> dict[str, Any]:
        for name in (SETTINGS, SURVEY, CHOICES):
            if name not in self.sheets:
                self.fail(name, None, None, f"the workbook has no sheet called {name}")
        if self.problems:
            return {}
        self.sheets = {
            **self.sheets,
            SURVEY: self._plain_rows(SURVEY, self.sheets[SURVEY]),
            CHOICES: self._plain_rows(CHOICES, self.sheets[CHOICES]),
        }
        for name, known in ((SURVEY, SURVEY_COLUMNS), (CHOICES, CHOICES_COLUMNS),
                            (TRIAGE, TRIAGE_COLUMNS)):  # fmt: skip
            self._unknown_columns(name, known)
        snapshot = self._settings()
        named, inline = self._choices()
        if named:
            snapshot["choices"] = named
        snapshot["sections"] = self._survey(inline, set(named))
        triage = self._triage(snapshot.pop("_triage"))
        if triage is not None:
            snapshot["triage"] = triage
        for name, line in self.choice_lines.items():
            if name.startswith(INLINE) and name not in self.used_lists:
                self.fail(CHOICES, line, "list_name", f"no question uses the list {name}")
        return snapshot

    def _plain_rows(self, sheet: str, rows: Sequence[ReadRow]) -> list[ReadRow]:
        """XLSForm's extra columns read as ours: a translated label stands in
        for a missing plain one, presentation columns are read past, and a
        column that changes what the form does with nothing here to do it is
        a problem at its row."""
        plain = []
        for row in rows:
            cells = dict(row.cells)
            for base in TRANSLATED:
                if cell_text(cells.get(base)).strip():
                    continue
                translated = next(
                    (
                        v
                        for k, v in cells.items()
                        if k.startswith(f"{base}::") and cell_text(v).strip()
                    ),
                    None,
                )
                if translated is not None:
                    cells[base] = translated
            for column in list(cells):
                value = cells[column]
                if column.startswith(tuple(f"{base}::" for base in TRANSLATED)):
                    del cells[column]
                elif column in XLSFORM_PRESENTATION or column.startswith("guidance_hint::"):
                    del cells[column]
                elif column.startswith(XLSFORM_UNTRANSLATABLE_COLUMNS):
                    del cells[column]
                    if cell_text(value).strip():
                        self.fail(sheet, row.line, column,
                                  f"XLSForm's {column} has no equivalent here: remove it")  # fmt: skip
            plain.append(ReadRow(row.line, cells))
        return plain

    def _unknown_columns(self, sheet: str, known: Sequence[str]) -> None:
        reported: set[str] = set()
        for row in self.sheets.get(sheet, ()):
            for column, value in row.cells.items():
                if column in known or column in reported or not cell_text(value).strip():
                    continue
                reported.add(column)
                self.fail(sheet, row.line, column,
                          f"unknown column: the {sheet} sheet's columns are {', '.join(known)}")  # fmt: skip

    # settings ---------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        rows = [
            row for row in self.sheets[SETTINGS] if any(v is not None for v in row.cells.values())
        ]
        snapshot: dict[str, Any] = {}
        triage: dict[str, Any] = {}
        if not rows:
            self.fail(
                SETTINGS,
                None,
                None,
                "fill in the second row: form_id, version, form_title, audience",
            )
            snapshot["_triage"] = triage
            return snapshot
        if len(rows) > 1:
            self.fail(
                SETTINGS, rows[1].line, None, "settings take one row: clear the rows below it"
            )
        row = rows[0]
        cells = {SETTINGS_ALIASES.get(k, k): v for k, v in row.cells.items()}
        for column in cells:
            if column in XLSFORM_SETTINGS and column not in SETTINGS_ALIASES:
                continue
            if column not in SETTINGS_COLUMNS and cells[column] is not None:
                self.fail(SETTINGS, row.line, column, "unknown setting")
        for column, key in SETTINGS_KEYS.items():
            value = cells.get(column)
            if value is None or cell_text(value) == "":
                continue
            if key == "version":
                number = _whole_number(value)
                if number is None:
                    self.fail(SETTINGS, row.line, column, "the version must be a whole number")
                    continue
                snapshot[key] = number
            else:
                snapshot[key] = cell_text(value) if key != "key" else cell_text(value).strip()
        if cells.get("triage_default") is not None:
            triage["default"] = cell_text(cells["triage_default"]).strip()
        steps = {
            risk: cell_text(cells[f"next_step_{risk}"])
            for risk in RISKS
            if cells.get(f"next_step_{risk}") is not None
        }
        if steps:
            triage["next_steps"] = steps
        snapshot["_triage"] = triage
        return snapshot

    # choices ----------------------------------------------------------

    def _choices(self) -> tuple[dict[str, list[dict[str, str]]], dict[str, list[dict[str, str]]]]:
        named: dict[str, list[dict[str, str]]] = {}
        inline: dict[str, list[dict[str, str]]] = {}
        for row in self.sheets[CHOICES]:
            name = row.text("list_name").strip()
            value, label = row.text("name"), row.text("label")
            if not (name or value or label):
                continue
            if not name:
                self.fail(CHOICES, row.line, "list_name", "name the list this choice belongs to")
                continue
            if value == "":
                self.fail(CHOICES, row.line, "name", "give the choice a value (its name)")
                continue
            if label == "":
                self.fail(CHOICES, row.line, "label", "give the choice a label")
                continue
            self.choice_lines.setdefault(name, row.line)
            found = (inline if name.startswith(INLINE) else named).setdefault(name, [])
            found.append({"value": value, "label": label})
        return named, inline

    # survey -----------------------------------------------------------

    def _survey(
        self, inline: dict[str, list[dict[str, str]]], named: set[str]
    ) -> list[dict[str, Any]]:
        sections: list[dict[str, Any]] = []
        section: dict[str, Any] | None = None
        table: dict[str, Any] | None = None
        implicit = False  # a section opened for questions outside any group
        group_condition = ""
        for row in self.sheets[SURVEY]:
            # The type word in any case; a list's name exactly as written.
            words = row.text("type").split()
            if (
                len(words) > 2
                and words[0].lower() == "select"
                and words[1].lower() in ("one", "multiple")
            ):
                words = [f"select_{words[1].lower()}", *words[2:]]
            kind = " ".join([words[0].lower(), *words[1:]] if words else [])
            if kind.startswith(("begin ", "end ")):
                kind = kind.lower()
            if not kind:
                if any(cell_text(v) for v in row.cells.values()):
                    self.fail(SURVEY, row.line, "type", "every filled row needs a type")
                continue
            base = kind.split(" ", 1)[0]
            if kind in XLSFORM_METADATA:
                continue  # what ODK records of the device, not a question
            if base in XLSFORM_UNTRANSLATABLE_TYPES:
                self.fail(SURVEY, row.line, "type",
                          f"XLSForm's {base} has no equivalent here: remove the row")  # fmt: skip
                continue
            if kind in ("begin group", "begin_group"):
                if section is not None and not implicit:
                    self.fail(SURVEY, row.line, "type",
                              f"the group {section['id']} is still open: a group inside a group "
                              "becomes a section of its own here, so end the first one")  # fmt: skip
                implicit = False
                section = {"id": row.text("name").strip()}
                for key, column in (("title", "label"), ("intro", "hint")):
                    if row.cells.get(column) is not None:
                        section[key] = row.text(column)
                section["questions"] = []
                # XLSForm's condition on a whole group asks each of its questions
                # only when it holds; any other setting has nowhere to go.
                group_condition = translate_expression(row.text("relevant").strip())
                for column, value in row.cells.items():
                    if (
                        column not in ("type", "name", "label", "hint", "relevant")
                        and cell_text(value).strip()
                    ):
                        self.fail(SURVEY, row.line, column,
                                  f"a group cannot take {column}: put it on each question")  # fmt: skip
                self.section_lines.setdefault(section["id"], row.line)
                sections.append(section)
            elif kind in ("end group", "end_group"):
                if section is None:
                    self.fail(SURVEY, row.line, "type", "an end group with no begin group above it")
                section = None
            elif kind in ("begin repeat", "begin_repeat"):
                if section is None:
                    section, implicit = self._implicit_section(sections), True
                table = self._question(row, "table", None, inline, named)
                if group_condition and not implicit:
                    own = table.get("show_if")
                    table["show_if"] = (
                        f"({group_condition}) and ({own})" if own else group_condition
                    )
                table["columns"] = []
                section["questions"].append(table)
            elif kind in ("end repeat", "end_repeat"):
                if table is None:
                    self.fail(
                        SURVEY, row.line, "type", "an end repeat with no begin repeat above it"
                    )
                table = None
            elif table is not None:
                table["columns"].append(self._question(row, kind, table["id"], inline, named))
            else:
                if section is None:
                    section, implicit = self._implicit_section(sections), True
                question = self._question(row, kind, None, inline, named)
                if group_condition and not implicit:
                    own = question.get("show_if")
                    question["show_if"] = (
                        f"({group_condition}) and ({own})" if own else group_condition
                    )
                section["questions"].append(question)
        if table is not None:
            self.fail(SURVEY, None, None, f"the repeat {table['id']} has no end repeat")
        if section is not None and not implicit:
            self.fail(SURVEY, None, None, f"the group {section['id']} has no end group")
        return sections

    def _implicit_section(self, sections: list[dict[str, Any]]) -> dict[str, Any]:
        """A section for questions outside any group (an XLSForm may have
        none): named after the questionnaire, numbered if there are several."""
        number = sum(1 for s in sections if str(s["id"]).startswith("questions")) + 1
        section: dict[str, Any] = {
            "id": "questions" if number == 1 else f"questions_{number}",
            "title": "Questions",
            "questions": [],
        }
        sections.append(section)
        return section

    def _question(
        self,
        row: ReadRow,
        kind: str,
        table_id: str | None,
        inline: dict[str, list[dict[str, str]]],
        named: set[str],
    ) -> dict[str, Any]:
        question: dict[str, Any] = {}
        qid = row.text("name").strip()
        question["id"] = qid
        if table_id is None:
            self.question_lines.setdefault(qid, []).append(row.line)
        else:
            self.column_lines.setdefault((table_id, qid), row.line)
        qtype, _, listed = kind.partition(" ")
        qtype = OUR_TYPES.get(qtype, qtype)
        question["type"] = qtype
        listed = listed.strip()
        if listed:
            if listed.startswith(INLINE):
                if listed not in inline:
                    self.fail(SURVEY, row.line, "type", f"the choices sheet has no list {listed}")
                question["choices"] = inline.get(listed, [])
                self.used_lists.add(listed)
            else:
                if listed not in named:
                    self.fail(SURVEY, row.line, "type", f"the choices sheet has no list {listed}")
                question["choices"] = listed
        for key in PLAIN_KEYS:
            column = QUESTION_COLUMNS.get(key, key)
            value = row.cells.get(column)
            if key == "id" or value is None:
                continue
            text = row.text(column)
            question[key] = translate_expression(text) if key in EXPRESSION_KEYS else text
        for key in FLAG_KEYS:
            flag = row.text(key).strip().lower()
            if not flag:
                continue
            looks_like_condition = "${" in flag or any(op in flag for op in ("=", "<", ">", "("))
            if key == "required" and looks_like_condition and "required_if" not in question:
                # XLSForm writes a condition in the required column itself.
                question["required_if"] = translate_expression(row.text(key))
                continue
            if flag not in YES | NO:
                self.fail(SURVEY, row.line, key, f"write yes or no, not {row.text(key)!r}")
                continue
            question[key] = flag in YES
        for key in NUMBER_KEYS:
            value = row.cells.get(key)
            if value is None or row.text(key).strip() == "":
                continue
            number = _number(value)
            if number is None:
                self.fail(SURVEY, row.line, key, f"write a number, not {row.text(key)!r}")
                continue
            question[key] = number
        for key, separator in LIST_KEYS.items():
            if row.text(key).strip():
                question[key] = _split(row.text(key), separator.strip() or "\n")
        raci = {
            key: row.text(column)
            for key, column in RACI_COLUMNS.items()
            if row.text(column).strip()
        }
        if raci:
            # Only the roles given: a file that leaves "consulted" out comes
            # back without it, not with an empty list.
            question["raci"] = {
                key: text.strip() if key == "accountable" else _split(text, "\n")
                for key, text in raci.items()
            }
        requirement = self._requirement(row, qtype)
        if requirement is not None:
            question["requirement"] = requirement
        return question

    def _requirement(self, row: ReadRow, qtype: str) -> dict[str, Any] | None:
        given = {key: row.cells.get(column) for key, column in REQUIREMENT_COLUMNS.items()}
        if all(value is None or cell_text(value).strip() == "" for value in given.values()):
            return None
        operator = row.text("requirement").strip()
        requirement: dict[str, Any] = {"operator": operator}
        if not operator:
            self.fail(SURVEY, row.line, "requirement",
                      "name the requirement's operator (equals, min, present...) or clear its columns")  # fmt: skip
        value = given["value"]
        if value is not None and row.text("requirement_value").strip() != "":
            if operator in LIST_OPERATORS:
                requirement["value"] = _split(row.text("requirement_value"), "\n")
            elif operator in ("min", "max", "within_days") or (
                operator in ("equals", "not_equals") and qtype in NUMBER_TYPES
            ):
                number = _number(value)
                if number is None:
                    self.fail(SURVEY, row.line, "requirement_value",
                              f"write a number, not {row.text('requirement_value')!r}")  # fmt: skip
                else:
                    requirement["value"] = number
            elif operator in OPERATORS_WITHOUT_VALUE:
                requirement["value"] = row.text("requirement_value")  # the checker refuses it
            else:
                requirement["value"] = row.text("requirement_value")
        for key in ("severity", "rationale", "subject", "na"):
            if given[key] is not None and cell_text(given[key]).strip() != "":
                text = cell_text(given[key])
                requirement[key] = text.strip() if key in ("severity", "na") else text
        if given["maps_to"] is not None and row.text("maps_to").strip():
            requirement["maps_to"] = _split(row.text("maps_to"), "\n")
        return requirement

    # triage -----------------------------------------------------------

    def _triage(self, triage: dict[str, Any]) -> dict[str, Any] | None:
        rules: list[dict[str, str]] = []
        for row in self.sheets.get(TRIAGE, ()):
            when, risk, reason = row.text("when"), row.text("risk").strip(), row.text("reason")
            if not (when or risk or reason):
                continue
            self.triage_lines[f"triage rule {len(rules) + 1}"] = row.line
            rules.append({"when": translate_expression(when), "risk": risk, "reason": reason})
        if rules:
            triage["rules"] = rules
        return triage or None

    # placing the checker's problems -------------------------------------

    def locate(self, line: str) -> Problem:
        """The definition checker's problem ("question hosting: show_if: ...")
        at the sheet, row and column it came from."""
        where, _, message = line.partition(": ")
        words = where.split(" ", 1)
        column = None
        for key, name in MESSAGE_COLUMNS.items():
            if message.startswith(key):
                column = name
                break
        if words[0] == "question" and len(words) == 2:
            table_id, _, column_id = words[1].partition(".")
            if column_id:
                found = self.column_lines.get((table_id, column_id))
            else:
                # A duplicate is the second row with the id; anything else, the first.
                lines = self.question_lines.get(table_id, [])
                found = lines[1] if message == "duplicate id" and len(lines) > 1 else None
                found = found or (lines[0] if lines else None)
            return Problem(SURVEY, found, column, f"{words[1]}: {message}")
        if words[0] == "section" and len(words) == 2:
            return Problem(
                SURVEY, self.section_lines.get(words[1]), "name", f"{words[1]}: {message}"
            )
        if where.startswith("choices."):
            name = where.removeprefix("choices.")
            return Problem(CHOICES, self.choice_lines.get(name), "list_name", f"{name}: {message}")
        if where.startswith("triage rule"):
            return Problem(TRIAGE, self.triage_lines.get(where), "when", message)
        if where == "triage":
            return Problem(SETTINGS, None, "triage_default", message)
        if where == "survey":
            return Problem(SURVEY, None, None, message)
        if where == "header" and message in MISSING_SETTINGS:
            return Problem(
                SETTINGS, None, MISSING_SETTINGS[message][0], MISSING_SETTINGS[message][1]
            )
        return Problem(SETTINGS, None, None, message if where == "header" else line)


EXPRESSION_KEYS = frozenset({"show_if", "required_if", "constraint", "evidence"})
MISSING_SETTINGS = {
    "'key' is missing": ("form_id", "add a form_id: the questionnaire's key, like cloud_supplier"),
    "'version' is missing": ("version", "add a version: a whole number, 1 for a new questionnaire"),
    "'title' is missing": ("form_title", "add a form_title: the questionnaire's title"),
    "'audience' is missing": (
        "audience",
        "add an audience column: it_support, cloud, screening, self_assessment or dpia "
        "(who answers it, and what the school gets; questionnaires/README.md)",
    ),
}
# The checker names a question's key first in its message: the column it is in.
MESSAGE_COLUMNS = {
    "show_if": "relevant", "help": "hint", "required_if": "required_if",
    "constraint": "constraint", "evidence": "evidence", "requirement": "requirement",
    "raci": "raci_accountable", "prefill": "prefill", "choices": "type", "min": "min",
    "max": "max", "accept": "accept",
}  # fmt: skip


def _split(text: str, separator: str) -> list[str]:
    return [part.strip() for part in text.split(separator) if part.strip()]


def _whole_number(value: Cell) -> int | None:
    number = _number(value)
    return number if isinstance(number, int) else None


def _number(value: Cell) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    text = cell_text(value).strip().replace(",", "")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None
