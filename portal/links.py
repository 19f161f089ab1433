"""Absolute links to the portal, for emails and for links shown to copy.

Always built on ``PORTAL_BASE_URL``, never on the Host header of the request
that caused them: a password reset asked for with ``Host: evil.example`` must
still email a link to us (issue 20, finding 3). Relative links (``url_for``
without ``_external``) stay as they are: the browser resolves them against the
address it is already on. No Flask here: the services build links with the
:class:`Links` their session carries (services/platform/runtime.py).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from werkzeug.routing import Map, MapAdapter


class PortalLink(str):
    """An address this module built. An email makes only these into links:
    an address someone typed (even one that looks like ours) stays text."""

    __slots__ = ()


class Links:
    """The full addresses of the app's endpoints on its public base URL."""

    def __init__(self, url_map: Map, base_url: str) -> None:
        self._map, self._base = url_map, base_url

    @cached_property
    def _urls(self) -> MapAdapter:
        # Bound on first use: most sessions build no link, and binding is
        # most of what a session's Runtime costs to make.
        base = urlsplit(self._base)
        return self._map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)

    def url(self, endpoint: str, **values: Any) -> PortalLink:
        return PortalLink(self._urls.build(endpoint, values, force_external=True))
