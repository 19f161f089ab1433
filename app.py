"""Entry point for `flask --app app ...` and `gunicorn app:app`."""

import gc
import sys

from flask import Flask

from portal import create_app
from portal.questionnaire import DefinitionError
from portal.services.platform.questionnaire_registry import PublishedVersionChanged

# The app refuses to start when a published questionnaire's file has changed,
# except for the commands that report the problem or prepare the database.
REPORTING_COMMANDS = {"questionnaires", "db"}


def _flask_command(argv: list[str]) -> str | None:
    """The command of a `flask [--app X] [options] COMMAND ...` call, if this is one."""
    if not argv or not argv[0].endswith("flask"):
        return None
    args = iter(argv[1:])
    for arg in args:
        if arg in ("--app", "-A", "--env-file", "-e"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _start() -> Flask:
    """The app, or one plain line per problem on stderr and exit 1 when a
    questionnaire file is broken or a published one changed: whoever starts
    it (flask run, a flask command, gunicorn) reads what to fix, not a
    traceback."""
    try:
        return create_app(check_published=_flask_command(sys.argv) not in REPORTING_COMMANDS)
    except (DefinitionError, PublishedVersionChanged) as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        raise SystemExit(1) from None


app = _start()
# What start-up made (modules, the app, WeasyPrint's stylesheets: about
# 220,000 objects) lives as long as the process. Frozen, the collector's full
# passes stop walking it: measured on a request's PDF (bench/run.py
# pdf_report), one drawing in three took 340-370 ms instead of 240 ms while a
# full pass walked them. bench/setup.make_app does the same.
gc.freeze()
