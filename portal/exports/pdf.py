"""Printable documents: our print templates (``templates/print/``) made into
tagged, accessible PDFs by WeasyPrint.

Safe by construction: the templates escape every value (Jinja autoescape, as
the pages do), and WeasyPrint reaches nothing outside the portal's own static
folder. :class:`RestrictedFetcher` answers every other address, a supplier's
``file:///etc/passwd`` or ``http://`` included, with an error instead of
opening it, and keeps a list of what was asked for.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import weasyprint
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from weasyprint.urls import URLFetcher, URLFetcherResponse

ROOT = Path(__file__).resolve().parent.parent.parent
PRINT_TEMPLATES = ROOT / "templates" / "print"
STATIC = ROOT / "portal" / "static"
# The only address scheme a print template may use: our static folder.
STATIC_SCHEME = "portal-static"
UK = ZoneInfo("Europe/London")


class RefusedAddress(ValueError):
    """WeasyPrint asked for something outside our static folder."""


class RestrictedFetcher(URLFetcher):
    """Serves ``portal-static:NAME`` from our static folder; refuses the rest."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=[STATIC_SCHEME])
        self.asked: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        self.asked.append(url)
        parts = urlsplit(url)
        if parts.scheme != STATIC_SCHEME:
            raise RefusedAddress(f"not fetched: {url[:200]}")
        path = (STATIC / unquote(parts.path).lstrip("/")).resolve()
        if not path.is_file() or STATIC.resolve() not in path.parents:
            raise RefusedAddress(f"not one of our static files: {url[:200]}")
        return URLFetcherResponse(url, body=path.read_bytes())


def _date(value: date | datetime | None, with_time: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(UK)
        text = f"{local.day} {local:%B %Y}"
        return f"{text}, {local:%H:%M}" if with_time else text
    return f"{value.day} {value:%B %Y}"


# WeasyPrint breaks an unbroken run of characters that does not fit only if
# told it may break anywhere, and then tries every place (measured: 13 s for
# one 32,767-character answer of 5,000-letter "words" in a table, 0.3 s for
# the same text with a zero-width space every 20 characters). So a run longer
# than a narrow column holds gets those spaces, and looks the same.
LONG_RUN = re.compile(r"\S{21,}")
BREAK_EVERY = 20


def breakable(value: Any) -> Any:
    """Every value a print template writes: long unbroken runs made breakable."""
    # Not Markup: a macro's output is our own HTML, and its tags must stay whole.
    if isinstance(value, str) and not isinstance(value, Markup) and len(value) > BREAK_EVERY:
        return LONG_RUN.sub(
            lambda run: "\u200b".join(
                run[0][i : i + BREAK_EVERY] for i in range(0, len(run[0]), BREAK_EVERY)
            ),
            value,
        )
    return value


def _stop(value: str) -> str:
    """A value run into a sentence: ends with a full stop unless it has its own."""
    text = value.rstrip()
    return text if not text or text[-1] in ".?!" else f"{text}."


@cache
def _environment() -> Environment:
    env = Environment(
        finalize=breakable,
        loader=FileSystemLoader(PRINT_TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = _date
    env.filters["stop"] = _stop
    env.filters["datetime"] = lambda value: _date(value, with_time=True)
    return env


def render_html(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def html_to_pdf(html: str, fetcher: RestrictedFetcher | None = None) -> bytes:
    """A PDF/UA-1 document (tagged, with its language and title) of ``html``."""
    document = weasyprint.HTML(
        string=html, base_url=f"{STATIC_SCHEME}:/", url_fetcher=fetcher or RestrictedFetcher()
    )
    pdf: bytes = document.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=False)
    return pdf


def render_pdf(template: str, fetcher: RestrictedFetcher | None = None, **context: Any) -> bytes:
    return html_to_pdf(render_html(template, **context), fetcher)
