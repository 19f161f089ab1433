"""The JSON API (``/api/v1``). Errors under /api/ are JSON (see errors.py)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/health")
def health() -> ResponseReturnValue:
    """For load balancers and monitoring: the app answers and the database too."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok", database="ok")
