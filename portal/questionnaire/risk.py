"""Rating a risk in a DPIA: how likely the harm is to people (remote,
possible, probable) against how severe it would be (minimal, significant,
severe) gives a low, medium or high risk. Pure functions, used for the risk
register of a full DPIA.

The matrix is the school's choice. The ICO asks for likelihood and severity
to be weighed but leaves the matrix to the organisation, and we could not
confirm that the one below is the ICO's own: it is the portal's default,
shown on every DPIA, and an administrator may set their organisation's own
(services/risk_matrix.py). An assessor may still set one risk's level, with a
reason, where the matrix does not fit it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

LIKELIHOODS = ("remote", "possible", "probable")
SEVERITIES = ("minimal", "significant", "severe")
LEVELS = ("low", "medium", "high")
LEVEL_LABELS = {"low": "Low", "medium": "Medium", "high": "High"}

Matrix = Mapping[tuple[str, str], str]

# The portal's default: a remote harm, or a minimal one, is a low risk; a
# possible harm is medium if significant and high if severe; a probable harm
# that is significant or severe is high.
DEFAULT_MATRIX: Matrix = MappingProxyType(
    {
        ("remote", "minimal"): "low",
        ("remote", "significant"): "low",
        ("remote", "severe"): "low",
        ("possible", "minimal"): "low",
        ("possible", "significant"): "medium",
        ("possible", "severe"): "high",
        ("probable", "minimal"): "low",
        ("probable", "significant"): "high",
        ("probable", "severe"): "high",
    }
)


def risk_level(likelihood: Any, severity: Any, matrix: Matrix | None = None) -> str | None:
    """The level for one pair, or None while either is not yet judged."""
    return (matrix or DEFAULT_MATRIX).get((str(likelihood), str(severity)))


def highest(levels: Iterable[str | None]) -> str | None:
    """The highest of some levels (None when none is known)."""
    known = [level for level in levels if level in LEVELS]
    return max(known, key=LEVELS.index) if known else None


def cell_key(likelihood: str, severity: str) -> str:
    """How a cell is stored and named in a form: 'possible_severe'."""
    return f"{likelihood}_{severity}"


def matrix_from_stored(stored: Mapping[str, Any] | None) -> Matrix:
    """An organisation's stored matrix, cell by cell; the default where a cell
    is missing or not a level (a matrix is never partly unknown)."""
    stored = stored or {}
    return {
        (likelihood, severity): (
            level
            if (level := stored.get(cell_key(likelihood, severity))) in LEVELS
            else DEFAULT_MATRIX[(likelihood, severity)]
        )
        for likelihood in LIKELIHOODS
        for severity in SEVERITIES
    }


def matrix_problems(matrix: Matrix) -> list[str]:
    """Why a matrix cannot be used: a cell without a level, or a harm that is
    more likely (or more severe) rated lower than a less likely (less severe)
    one, which no DPO would sign."""
    problems = [
        f"Choose a level for {likelihood} likelihood and {severity} severity"
        for likelihood in LIKELIHOODS
        for severity in SEVERITIES
        if matrix.get((likelihood, severity)) not in LEVELS
    ]
    if problems:
        return problems

    def rank(likelihood: str, severity: str) -> int:
        return LEVELS.index(matrix[(likelihood, severity)])

    for likelihood in LIKELIHOODS:
        for lower, higher in zip(SEVERITIES, SEVERITIES[1:], strict=False):
            if rank(likelihood, higher) < rank(likelihood, lower):
                problems.append(
                    f"A {higher} harm cannot be a lower risk than a {lower} one "
                    f"({likelihood} likelihood)"
                )
    for severity in SEVERITIES:
        for lower, higher in zip(LIKELIHOODS, LIKELIHOODS[1:], strict=False):
            if rank(higher, severity) < rank(lower, severity):
                problems.append(
                    f"A {higher} harm cannot be a lower risk than a {lower} one "
                    f"({severity} severity)"
                )
    return problems
