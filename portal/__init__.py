"""The Due Diligence Portal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, Response, g
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from .config import ROOT, load_config
from .extensions import StrictJSONProvider, csrf, db, keep_changes, limiter, login_manager
from .template_environment import PortalEnvironment

__all__ = ["ROOT", "create_app", "keep_changes"]


def create_app(test_config: dict[str, Any] | None = None, *, check_published: bool = True) -> Flask:
    """Build the app: configuration, extensions, blueprints, error pages, CLI.

    ``check_published=False`` lets the app load although a published
    questionnaire's file has changed: only for the commands that report it.
    """
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    app.jinja_environment = PortalEnvironment  # before anything touches app.jinja_env
    app.json = StrictJSONProvider(app)
    load_config(app, test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name, level in (
        ("portal", logging.INFO),
        ("alembic", logging.WARNING),
        ("alembic.runtime.migration", logging.INFO),
    ):
        logging.getLogger(name).setLevel(level)

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(ROOT / "templates")),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from . import (
        cli,
        errors,
        input_hygiene,
        permissions,
        rate_limit_store,
        security_headers,
        templating,
    )
    from .identity import sso as single_sign_on
    from .identity import staff_sessions
    from .services.platform import questionnaire_registry as questionnaires
    from .services.platform import storage
    from .views import (
        api,
        auth,
        curator,
        curator_questionnaires,
        directory,
        dpia,
        exports,
        feedback,
        local_questions,
        profiles,
        register,
        renewal,
        review,
        school,
        sso,
        standards,
        supplier,
        trust,
    )

    input_hygiene.init_app(app)
    staff_sessions.init_app(app)
    single_sign_on.init_app(app)
    permissions.init_app(app)
    security_headers.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    rate_limit_store.init_app(app)
    for module in (
        auth, school, review, profiles, local_questions, exports, directory, curator, curator_questionnaires, standards,
        register, dpia, feedback, supplier, renewal, sso, trust, api,
    ):  # fmt: skip
        app.register_blueprint(module.bp)
    cli.init_app(app)
    folder = Path(app.config.get("QUESTIONNAIRE_FOLDER") or ROOT / "questionnaires")
    files = questionnaires.QuestionnaireFiles.load(folder)
    app.extensions["portal_questionnaire_files"] = files
    if check_published:
        with app.app_context():
            problems = questionnaires.published_conflicts(db.session, list(files.files))
        if problems:
            raise questionnaires.PublishedVersionChanged(problems)
    app.extensions.setdefault(
        "portal_storage",
        storage.configured(app.config["EVIDENCE_STORE"], Path(app.config["UPLOAD_FOLDER"])),
    )

    app.after_request(_finish_request)
    return app


def _finish_request(response: Response) -> Response:
    """Commit once per request; what it deferred and the email it queued go
    after the response (portal/after_response.py)."""
    from . import after_response

    # A view may keep its changes on a 4xx answer that reports a partial
    # success (a 409 conflict beside answers that did save): keep_changes().
    kept = response.status_code < 400 or (response.status_code < 500 and g.get("keep_changes"))
    session = g.get("_db_session")
    if session is not None:
        if kept:
            session.commit()
        else:
            session.rollback()
    if kept:
        after_response.schedule(response)
    else:
        after_response.discard()
    return response
