"""A real browser (Debian's Chromium, driven by Playwright) against the app
served from a thread of this process, so it shares the test database."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if path:
        return path
    message = "Chromium not found (apt-get install chromium): browser tests SKIPPED"
    if os.environ.get("CI") == "true":
        pytest.fail(message.replace("SKIPPED", "cannot be skipped under CI=true"))
    pytest.skip(message)


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    app.config["SERVER_NAME"] = None
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    # The portal's public address is this server's: links shown and emailed use it.
    app.config["PORTAL_BASE_URL"] = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
