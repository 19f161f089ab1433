"""User data is always escaped: no |safe, Markup() or autoescape off on it.

Only one place builds Markup, from text it has just escaped (the HTML part of
emails); it says so on the line, and this test holds it to that."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
UNSAFE = re.compile(r"\|\s*safe\b|\bMarkup\(|autoescape\s+false|\|\s*forceescape\b")
JUSTIFIED = "# nosec B704"  # with the reason on the line above


def places() -> list[Path]:
    return [
        *sorted((ROOT / "templates").rglob("*.*")),
        *sorted((ROOT / "portal").rglob("*.py")),
    ]


def test_nothing_marks_user_data_safe() -> None:
    found = []
    for path in places():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if UNSAFE.search(line) and JUSTIFIED not in line:
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
    justified = [
        path.name
        for path in places()
        for line in path.read_text(encoding="utf-8").splitlines()
        if JUSTIFIED in line
    ]
    assert justified == ["mail.py"]  # a new one needs a look, and this list


def test_the_one_justified_markup_escapes_first(app: Flask) -> None:
    from portal.services.platform.mail import html_paragraphs

    with app.app_context():
        paragraphs = html_paragraphs(
            '<script>alert(1)</script> "x" & http://portal.test/a?b=1&c=2 https://evil.example/x'
            " http://portal.test/typed",
            ["http://portal.test/a?b=1&c=2"],
        )
    html = str(paragraphs[0])
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '<a href="http://portal.test/a?b=1&amp;c=2">' in html  # ours: a link
    assert 'href="http://portal.test/typed' not in html  # looks like ours, but typed
    assert "evil.example/x" in html
    assert 'href="https://evil.example' not in html  # anyone else's: text


def test_html_templates_are_autoescaped(app: Flask) -> None:
    autoescape = app.jinja_env.autoescape
    assert callable(autoescape)
    assert autoescape("supplier/section_form.html") is True
    with app.test_request_context():
        from flask import render_template

        page = render_template("supplier/session_ended.html", typed=[("q", "<script>x</script>")])
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
