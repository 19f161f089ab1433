"""Directory search at a real deployment's size: 5,000 published entries, the
search page (no words, a word every entry holds, a rare word, the last page)
and the API, each against a floor of the same size measured in the same run.

    python -m bench.directory_search [--entries 5000] [--quick]

With TEST_DATABASE_URL set to a PostgreSQL database, runs there too. Prints
the figures; bench/run.py may take ``figures`` into `make bench`.
"""

from __future__ import annotations

import argparse
import os
import random
from datetime import timedelta
from typing import Any

from flask import Flask

from .run import Figure, paired_ms, ratio
from .setup import KEY, Installation, add_floor_routes, installation, make_app

PASSWORD = "bench-password-long-enough-1"  # noqa: S105 (a throw-away database)
WORDS = (
    "cloud storage pupils safeguarding records encryption backup support learning "
    "platform parents messages assessment tracking finance payroll filtering "
    "monitoring identity sign single access audit retention breach notice hosting "
    "reports lessons homework attendance behaviour library timetable"
).split()
CATEGORIES = ("it_support", "mis", "learning_platform", "communication", "ai_tool", "other")


def fill(app: Flask, entries: int, seed: int = 23) -> None:
    """``entries`` published entries from a fifth as many suppliers; every
    summary holds "storage", one entry's product holds "Zanzibar"."""
    from sqlalchemy import insert, text

    from portal.extensions import db
    from portal.models import DirectoryEntry, Supplier, utcnow
    from portal.services.accounts import users as accounts
    from portal.services.accounts.passwords import hash_password
    from portal.services.platform.questionnaire_registry import find_current, publish_version

    chance = random.Random(seed)  # noqa: S311 (made-up data)
    with app.app_context():
        session = db.session
        organisation = accounts.create_organisation(session, "Bench School", "school")
        accounts.create_user(
            session,
            email="bench@school.example",
            name="Bench Reviewer",
            organisation=organisation,
            role="admin",
            password_hash=hash_password(PASSWORD),
        )
        version = publish_version(session, find_current(session, KEY))
        suppliers = [
            Supplier(name=f"{chance.choice(WORDS).title()} Systems {n} Ltd")
            for n in range(max(1, entries // 5))
        ]
        session.add_all(suppliers)
        session.flush()
        today = utcnow().date()
        rows: list[dict[str, Any]] = []
        for n in range(entries):
            summary = " ".join(chance.choice(WORDS) for _ in range(60)) + " storage."
            rows.append(
                {
                    "supplier_id": suppliers[n % len(suppliers)].id,
                    "product": "Zanzibar Reader"
                    if n == entries // 2
                    else f"{chance.choice(WORDS).title()} {n}",
                    "category": CATEGORIES[n % len(CATEGORIES)],
                    "questionnaire_version_id": version.id,
                    "answers": {"breach_notice_hours": 24},
                    "evidence_questions": [],
                    "summary": summary,
                    "rating": ("green", "amber", "red")[n % 3],
                    "review_due": today + timedelta(days=30 + n % 300),
                    "status": "published",
                    "reviewed_on": today,
                    "published_at": utcnow(),
                }
            )
        session.execute(insert(DirectoryEntry), rows)
        session.commit()
        if session.get_bind().dialect.name == "postgresql":
            # As autovacuum would soon after a bulk load: plans from real statistics.
            session.execute(text("ANALYZE"))
            session.commit()


def figures(place: Installation, entries: int, quick: bool, label: str = "") -> list[Figure]:
    times = 30 if quick else 100
    app = make_app(place)
    add_floor_routes(app, 0)
    fill(app, entries)
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    login = client.post(
        "/login",
        data={"email": "bench@school.example", "password": PASSWORD, "csrf_token": csrf},
    )
    assert login.status_code == 302, login.status_code
    last = -(-entries // 50)
    pages = {
        "no words": "/directory/",
        "a word in every entry": "/directory/?q=storage",
        "a rare word": "/directory/?q=zanzibar",
        "two words, a filter": "/directory/?q=cloud+backup&category=mis",
        f"page {last} of {last}": f"/directory/?page={last}",
    }
    found: list[Figure] = []
    for name, path in pages.items():
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        app.config["BENCH_FLOOR_BYTES"] = len(page.data)
        took, floor = paired_ms(
            lambda p=path: client.get(p), lambda: client.get("/bench/floor"), times
        )  # type: ignore[misc]
        found.append(
            Figure(f"directory {name}{label}", took, "ms", floor, ratio(took, floor),
                   f"<= 10x floor; {len(page.data) / 1024:,.0f} KB")
        )  # fmt: skip
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results: list[Figure] = []
    with installation() as place:
        results += figures(place, args.entries, args.quick)
    postgres = os.environ.get("TEST_DATABASE_URL", "")
    if postgres.startswith("postgresql"):
        with installation(postgres) as place:
            results += figures(place, args.entries, args.quick, label=" (postgres)")
    print(f"\n{'name':40} {'value':>9} {'unit':4} {'floor':>8} {'ratio':>7}   target")
    for figure in results:
        floor = "" if figure.floor is None else f"{figure.floor:,.2f}"
        times = "" if figure.ratio is None else f"{figure.ratio:,.2f}"
        print(
            f"{figure.name:40} {figure.value:>9,.2f} {figure.unit:4} {floor:>8} {times:>7}   {figure.target}"
        )


if __name__ == "__main__":
    main()
