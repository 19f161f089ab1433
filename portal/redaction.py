"""Keep secrets out of logs (link tokens travel in URL paths), and keep each
log record on one line."""

from __future__ import annotations

import logging
import re

# Path segments that carry a secret token, up to the next / ? space or quote.
_TOKEN_IN_PATH = re.compile(r"(/(?:link|invitation|reset-password)/)[^/?\s\"']+")
_PASSWORD_FIELD = re.compile(r"((?:password|confirm)=)[^&\s]+", re.IGNORECASE)


_LINE_BREAKS = str.maketrans({"\r": "\\r", "\n": "\\n", "\x85": "\\x85", "\u2028": "\\u2028"})


def redact(text: str) -> str:
    """Tokens and passwords replaced, and line breaks shown as \\n: a value
    someone typed (a path, an email) can never start a forged log line."""
    cleaned = _PASSWORD_FIELD.sub(r"\1[redacted]", _TOKEN_IN_PATH.sub(r"\1[redacted]", text))
    return cleaned.translate(_LINE_BREAKS)


class RedactingFilter(logging.Filter):
    """Rewrite a record's message with tokens and passwords replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install(*logger_names: str) -> None:
    """Filter the root logger's handlers (which every propagated record passes)
    and the named loggers (servers that log through handlers of their own)."""
    targets: list[logging.Filterer] = [*logging.getLogger().handlers]
    targets += [logging.getLogger(name) for name in logger_names]
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
