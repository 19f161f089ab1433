"""The Jinja environment our templates render in."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from flask.templating import Environment


class PortalEnvironment(Environment):
    """Flask's environment, with each template's globals as a plain dict.

    Jinja layers a template's globals over the environment's in a ChainMap,
    and every ``{% from ... import %}`` (the GOV.UK templates run a dozen
    per page, some inside macros) compares the caller's globals with the
    imported template's key by key, each lookup walking the chain in Python:
    7% of a supplier's section page. A dict makes that one C-level set
    operation. What it gives up: a global added to the environment after a
    template was loaded is not seen by that template, which Jinja's own
    documentation already asks us not to do; ours are all set in create_app,
    before any template loads (and a reloaded template takes a fresh copy).
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}
