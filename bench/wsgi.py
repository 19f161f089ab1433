"""The app as gunicorn serves it for measuring, plus the floor routes."""

from __future__ import annotations

import os

from portal import create_app

from .setup import add_floor_routes

app = create_app()
add_floor_routes(app, int(os.environ.get("BENCH_FLOOR_BYTES", "40000")))
