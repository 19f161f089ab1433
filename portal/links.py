"""Absolute links to the portal, for emails and for links shown to copy.

Always built on ``PORTAL_BASE_URL``, never on the Host header of the request
that caused them: a password reset asked for with ``Host: evil.example`` must
still email a link to us (issue 20, finding 3). Relative links (``url_for``
without ``_external``) stay as they are: the browser resolves them against the
address it is already on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


class PortalLink(str):
    """An address this module built. An email makes only these into links:
    an address someone typed (even one that looks like ours) stays text."""

    __slots__ = ()


def absolute_url(endpoint: str, **values: Any) -> PortalLink:
    """The full address of an endpoint on this installation's public base URL."""
    base = urlsplit(current_app.config["PORTAL_BASE_URL"])
    urls = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return PortalLink(urls.build(endpoint, values, force_external=True))
