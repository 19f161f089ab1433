"""Rating a risk in a DPIA: how likely the harm is to people (remote,
possible, probable) against how severe it would be (minimal, significant,
severe) gives a low, medium or high risk. Pure functions, used for the risk
register of a full DPIA.

The matrix is the school's choice. The ICO asks for likelihood and severity
to be weighed but leaves the matrix to the organisation, and we could not
confirm that the one below is the ICO's own: it is the portal's default,
shown on every DPIA, and an administrator may set their organisation's own
(services/school/risk_matrix.py). An assessor may still set one risk's level, with a
reason, where the matrix does not fit it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

LIKELIHOODS = ("remote", "possible", "probable")
SEVERITIES = ("minimal", "significant", "severe")
LEVELS = ("low", "medium", "high")
LEVEL_LABELS = {"low": "Low", "medium": "Medium", "high": "High"}
# The DPIA question that holds the register (a table of risks).
RISK_TABLE = "risk_register"

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


# --- The risk register of a full DPIA ---------------------------------------------


@dataclass(frozen=True)
class Risk:
    number: int
    risk: str
    likelihood: str | None
    severity: str | None
    measure: str
    residual_likelihood: str | None
    residual_severity: str | None
    approved: str | None
    # The assessor's own level for the risk left, where the matrix does not
    # fit this risk, and why (both or neither: see _row_gaps).
    judged_level: str | None = None
    judged_reason: str = ""
    matrix: Matrix = field(default_factory=lambda: DEFAULT_MATRIX, repr=False, compare=False)

    @property
    def level(self) -> str | None:
        return risk_level(self.likelihood, self.severity, self.matrix)

    @property
    def measure_approved(self) -> bool:
        return self.approved == "yes"

    @property
    def matrix_residual_level(self) -> str | None:
        """What the matrix makes of the risk left; a measure not approved
        reduces nothing, so the risk stays at its own level."""
        if not self.measure_approved:
            return self.level
        return risk_level(self.residual_likelihood, self.residual_severity, self.matrix)

    @property
    def residual_level(self) -> str | None:
        """The risk left: the assessor's judgement where they gave one with a
        reason, else the matrix's."""
        if self.judged_level in LEVELS and self.judged_reason:
            return self.judged_level
        return self.matrix_residual_level


def risks_of(answers: Mapping[str, Any], matrix: Matrix | None = None) -> list[Risk]:
    """The register's rows as risks, each with its level worked out on the
    organisation's matrix (the portal's default without one)."""
    rows = answers.get(RISK_TABLE)
    if not isinstance(rows, list):
        return []
    return [
        Risk(
            number=number,
            risk=str(row.get("risk") or ""),
            likelihood=row.get("likelihood"),
            severity=row.get("severity"),
            measure=str(row.get("measure") or ""),
            residual_likelihood=row.get("residual_likelihood"),
            residual_severity=row.get("residual_severity"),
            approved=row.get("approved"),
            judged_level=row.get("judged_level"),
            judged_reason=str(row.get("judged_reason") or "").strip(),
            matrix=matrix or DEFAULT_MATRIX,
        )
        for number, row in enumerate(rows, start=1)
        if isinstance(row, dict)
    ]


def residual_level(risks: Iterable[Risk]) -> str | None:
    """The highest risk left once the measures are in place."""
    return highest(r.residual_level for r in risks)


def level_label(level: str | None) -> str:
    return LEVEL_LABELS.get(level or "", "Not yet judged")
