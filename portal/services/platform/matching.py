"""Text search helpers shared by the lists that can be searched."""

from __future__ import annotations


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape character backslash) matching ``text`` anywhere,
    lower-cased. A typed % or _ matches itself, not anything."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
