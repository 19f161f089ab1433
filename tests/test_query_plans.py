"""No staff page reads a whole table to show one school's rows (issue 23).

Every SELECT the pages send is EXPLAINed. On PostgreSQL sequential scans are
priced out (``enable_seqscan = off``): the planner then takes an index
wherever one can serve the query, so a "Seq Scan" left on the request,
answer, evidence or audit tables means no index serves that filter or sort,
and at 100,000 requests the page would read them all. SQLite plans without
statistics as if every table were large; a bare "SCAN request" (no index)
is the same finding. (It caught the curator's queue asking
``directory_consent IS 1`` of a partial index written for ``= 1``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from portal.extensions import db

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))

BIG_TABLES = ("request", "answer", "evidence", "audit_event", "request_on_behalf")
SCHOOL_PAGES = (
    "/",
    "/?status=submitted&supplier=cloud",
    "/?page=2",
    "/suppliers",
    "/audit",
    "/audit?action=signed_in",
    "/dpias",
    "/standards",
    "/standards/timeline",
    "/requests/{request}",
)


@pytest.fixture
def sent(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    found: list[tuple[str, Any]] = []
    engine = db.engine_for(app)

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            found.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield found
    event.remove(engine, "before_cursor_execute", record)


def seq_scans(app: Flask, statement: str, parameters: Any) -> list[str]:
    engine = db.engine_for(app)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = [str(row[0]) for row in cursor.fetchall()]
            scans = [f"Seq Scan on {table} " for table in BIG_TABLES]
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = [str(row[-1]) for row in cursor.fetchall()]
            # "SCAN request USING INDEX ..." reads an index; a bare scan, the table.
            plan = [line for line in plan if " USING " not in line]
            scans = [f"SCAN {table} " for table in BIG_TABLES]
        connection.rollback()
    finally:
        connection.close()
    return [line.strip() for line in plan if any(scan in line + " " for scan in scans)]


def problems_on(
    app: Flask, client: FlaskClient, sent: list[tuple[str, Any]], paths: list[str]
) -> str:
    found: dict[str, list[str]] = {}
    for url in paths:
        sent.clear()
        assert client.get(url).status_code == 200, url
        for statement, parameters in list(sent):
            for scan in seq_scans(app, statement, parameters):
                found.setdefault(url, []).append(
                    f"{scan}\n    in: {' '.join(statement.split())[:300]}"
                )
    return "\n".join(f"{url}:\n  " + "\n  ".join(scans) for url, scans in found.items())


def test_the_curators_lists_read_through_indexes(
    app: Flask, make: Factory, client: FlaskClient, sent: list[tuple[str, Any]]
) -> None:
    school = make.user(role="admin")
    make.submitted(school, consent=True, supplier_name="Shared Supplier Ltd")
    make.submitted(school, supplier_name="Private Supplier Ltd")
    login(client, make.user(make.org("Northgate", kind="curator"), role="curator"))
    paths = ["/curate/", "/curate/?list=published", "/curate/?list=overdue", "/curator/feedback"]
    assert not problems_on(app, client, sent, paths)


def test_a_schools_pages_read_its_rows_through_indexes(
    app: Flask, make: Factory, client: FlaskClient, sent: list[tuple[str, Any]]
) -> None:
    admin = make.user(role="admin")
    row, _ = make.submitted(admin, supplier_name="Cloudy Classroom Ltd")
    for n in range(3):
        make.request(admin, supplier_name=f"Supplier {n} Ltd")
    login(client, admin)
    # The check itself finds a scan where no index serves the filter.
    assert seq_scans(app, "SELECT id FROM request WHERE contact_email = 'x'", ())
    problems: dict[str, list[str]] = {}
    for path in SCHOOL_PAGES:
        sent.clear()
        url = path.format(request=row.id)
        assert client.get(url).status_code == 200, url
        for statement, parameters in list(sent):
            for scan in seq_scans(app, statement, parameters):
                problems.setdefault(url, []).append(
                    f"{scan}\n    in: {' '.join(statement.split())[:300]}"
                )
    assert not problems, "\n".join(
        f"{url}:\n  " + "\n  ".join(found) for url, found in problems.items()
    )
