"""The questionnaire engine: pure Python, no Flask, no SQLAlchemy.

Definitions are data (TOML files in ``questionnaires/``); this package loads
them into frozen dataclasses, builds forms from them and validates answers.
"""

from . import compare, logic
from .definition import (
    DefinitionError,
    Question,
    Questionnaire,
    Section,
    load_directory,
    load_file,
    questionnaire_from_snapshot,
)

__all__ = [
    "compare",
    "logic",
    "DefinitionError",
    "Question",
    "Questionnaire",
    "Section",
    "load_directory",
    "load_file",
    "questionnaire_from_snapshot",
]
