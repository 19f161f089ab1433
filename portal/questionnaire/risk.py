"""The ICO's way of rating a risk in a DPIA: how likely the harm is to people
(remote, possible, probable) against how severe it would be (minimal,
significant, severe) gives a low, medium or high risk. Pure functions, used
for the risk register of a full DPIA."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LIKELIHOODS = ("remote", "possible", "probable")
SEVERITIES = ("minimal", "significant", "severe")
LEVELS = ("low", "medium", "high")
LEVEL_LABELS = {"low": "Low", "medium": "Medium", "high": "High"}

# The ICO's matrix: a remote harm, or a minimal one, is a low risk; a
# possible harm is medium if significant and high if severe; a probable harm
# that is significant or severe is high. ("High risk could result from either a
# high probability of some harm, or a lower possibility of serious harm.")
MATRIX: Mapping[tuple[str, str], str] = {
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


def risk_level(likelihood: Any, severity: Any) -> str | None:
    """The level for one pair, or None while either is not yet judged."""
    return MATRIX.get((str(likelihood), str(severity)))


def highest(levels: Iterable[str | None]) -> str | None:
    """The highest of some levels (None when none is known)."""
    known = [level for level in levels if level in LEVELS]
    return max(known, key=LEVELS.index) if known else None
