"""A deployment-sized data set for measuring staff pages (issue 23).

Trusts of schools, each school with its requests (answered, decided, open in
a realistic mix), answers, evidence, audit events, rules, register, standards,
DPIAs and feedback shares, and a directory of published entries.

Built fast: the demo is seeded once through the services, so every row kind
is what the portal itself writes; then its rows are copied in bulk with Core
inserts (ids assigned here), school by school. A copied request keeps its
template's stored rating and score, which the services computed with the
same rules the copy's school has (the school's rules are copied too).

    build(app, Scale(trusts=20, schools_per_trust=25, requests_per_school=200, entries=5000))
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import Connection

from portal.models.base import utcnow

PASSWORD = "bench-password-long-enough-1"  # noqa: S105 (a throw-away bench database)
CHUNK = 5_000
WORDS = (
    "Maths Phonics Reading Science Cloud Classroom Safeguard Library Behaviour Parent "
    "Payments Catering Timetable Assessment Portfolio Coding Music Languages Tutor Admissions "
    "Attendance Wellbeing Filtering Monitoring Backup Print Email Video Quiz Spelling"
).split()
CATEGORIES = ("learning_platform", "mis", "safeguarding", "communication", "it_support", "other")


@dataclass(frozen=True)
class Scale:
    trusts: int
    schools_per_trust: int
    requests_per_school: int
    entries: int

    @property
    def schools(self) -> int:
        return self.trusts * self.schools_per_trust


@dataclass(frozen=True)
class BigData:
    """Who to sign in as, and what to open, to measure the pages."""

    school_admin: str  # email of an admin of the first generated school
    trust_admin: str  # email of an admin of the first trust
    curator: str  # email of the curator (Northgate, from the demo)
    curator_mfa_secret: str
    decided_request_id: int  # a decided cloud request of the first school
    requests: int
    answers: int
    entries: int


@dataclass
class _Templates:
    """Rows the services wrote for the demo, to copy."""

    requests: dict[str, dict[str, Any]]  # kind -> request row
    answers: dict[str, list[dict[str, Any]]]
    evidence: dict[str, list[dict[str, Any]]]
    tracked: dict[str, list[dict[str, Any]]]  # evidence whose expiry is followed (issue 26)
    events: dict[str, list[dict[str, Any]]]
    rules: list[dict[str, Any]]
    standards: list[dict[str, Any]]
    dpia: dict[str, Any]
    dpia_answers: list[dict[str, Any]]
    entry: dict[str, Any]
    curator_org: int
    curator_user: int
    password_hash: str
    standards_version: int


class _Ids:
    """The next free id of each table (ids are assigned here so children can
    name their parents without a round trip per row)."""

    def __init__(self, conn: Connection, tables: Sequence[Table]) -> None:
        self.next = {
            t.name: int(conn.scalar(select(func.max(t.c.id))) or 0) + 1
            for t in tables
            if "id" in t.c
        }

    def take(self, table: Table) -> int:
        value = self.next[table.name]
        self.next[table.name] = value + 1
        return value


def build(app: Flask, scale: Scale, seed: int = 23) -> BigData:
    from portal.extensions import db
    from portal.models import Base

    templates = _templates(app)
    tables = Base.metadata.tables
    counts = {"requests": 0, "answers": 0}
    with app.app_context():
        engine = db.engine_for(app)
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("PRAGMA foreign_keys=OFF"))
            ids = _Ids(conn, list(tables.values()))
            out = _Writer(conn)
            first = _organisations(conn, ids, out, tables, scale, templates)
            suppliers = _suppliers(ids, out, tables, max(200, scale.schools * 4))
            rng = random.Random(seed)
            decided_id = 0
            for number, (school_id, trust_id, admin_id) in enumerate(first.schools):
                pool = _school_suppliers(suppliers, number, trust_id, rng)
                found = _school(ids, out, tables, templates, scale, school_id, admin_id, pool, rng)
                counts["requests"] += found[0]
                counts["answers"] += found[1]
                decided_id = decided_id or found[2]
            entries = _directory(ids, out, tables, templates, suppliers, scale.entries, rng)
            _adoptions(ids, out, tables, first.schools, entries, rng)
            out.flush()
            if conn.dialect.name == "postgresql":
                for table in (t for t in tables.values() if "id" in t.c):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                            f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
                        )
                    )
            else:
                conn.execute(text("PRAGMA foreign_keys=ON"))
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
            else:
                conn.execute(text("ANALYZE"))
                conn.commit()
    return BigData(
        school_admin=first.school_admin,
        trust_admin=first.trust_admin,
        curator="curator@northgate.example",
        curator_mfa_secret=first.mfa_secret,
        decided_request_id=decided_id,
        requests=counts["requests"],
        answers=counts["answers"],
        entries=len(entries),
    )


class _Writer:
    """Rows gathered per table and inserted in chunks, parents first."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pending: dict[str, tuple[Table, list[dict[str, Any]]]] = {}
        self.order: list[str] = []

    def add(self, table: Table, row: dict[str, Any]) -> None:
        if table.name not in self.pending:
            self.pending[table.name] = (table, [])
            self.order.append(table.name)
        rows = self.pending[table.name][1]
        rows.append(row)
        if len(rows) >= CHUNK and table.name == self.order[0]:
            self.flush()

    def flush(self) -> None:
        for name in self.order:
            table, rows = self.pending[name]
            for chunk in _chunks(rows, CHUNK):
                self.conn.execute(insert(table), chunk)
            rows.clear()


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    # executemany needs every row to name the same columns.
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_keys.setdefault(tuple(sorted(row)), []).append(row)
    for group in by_keys.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]


def _templates(app: Flask) -> _Templates:
    """Seed the demo through the services, decide one request, and read back
    the rows to copy."""
    from portal.demo import seed_demo
    from portal.extensions import db
    from portal.models import (
        Answer,
        AssessmentAnswer,
        AuditEvent,
        DirectoryEntry,
        Dpia,
        DpiaAnswer,
        Evidence,
        Organisation,
        Request,
        RequirementRule,
        TrackedEvidence,
        User,
    )
    from portal.questionnaire.examples import example_answers
    from portal.services.platform.questionnaire_registry import find_current
    from portal.services.review import decisions
    from portal.services.school import standards

    with app.test_request_context(base_url="http://127.0.0.1"):
        session = db.session
        seed_demo(session)
        found = {
            r.reference: r
            for r in session.scalars(select(Request).where(Request.reference.like("DD-DEMO%")))
        }
        curator = session.scalar(select(User).where(User.email == "curator@northgate.example"))
        assert curator is not None
        if found["DD-DEMO07"].decided_at is None:
            decisions.decide(
                session,
                found["DD-DEMO07"],
                found["DD-DEMO07"].created_by or curator,
                decisions.Decision("accepted", "Strong answers throughout.", [], None),
            )
        oakfield = found["DD-DEMO05"].organisation
        assessment = standards.find_assessment(session, oakfield)
        assert assessment is not None
        definition = find_current(session, standards.KEY)
        have = {a.question_id for a in assessment_rows(session, assessment.id, AssessmentAnswer)}
        for question_id, value in example_answers(definition).items():
            if question_id not in have:
                session.add(
                    AssessmentAnswer(
                        assessment_id=assessment.id, question_id=question_id, value=value
                    )
                )
        session.commit()

        def rows(model: Any, *where: Any) -> list[dict[str, Any]]:
            table = model.__table__
            return [dict(r) for r in session.execute(select(table).where(*where)).mappings()]

        kinds = {"open": "DD-DEMO01", "started": "DD-DEMO02", "cloud_gaps": "DD-DEMO05",
                 "cloud_good": "DD-DEMO07", "it_support": "DD-DEMO03"}  # fmt: skip
        by_kind = {kind: found[ref] for kind, ref in kinds.items()}
        dpia_row = session.scalar(select(Dpia).where(Dpia.organisation_id == oakfield.id))
        assert dpia_row is not None
        entry = session.scalar(select(DirectoryEntry))
        assert entry is not None
        curator_org = session.scalar(
            select(Organisation).where(Organisation.name == "Northgate Data Protection")
        )
        assert curator_org is not None
        admin = session.scalar(select(User).where(User.email == "admin@oakfield.example"))
        assert admin is not None
        return _Templates(
            requests={k: rows(Request, Request.id == r.id)[0] for k, r in by_kind.items()},
            answers={k: rows(Answer, Answer.request_id == r.id) for k, r in by_kind.items()},
            evidence={k: rows(Evidence, Evidence.request_id == r.id) for k, r in by_kind.items()},
            tracked={
                k: rows(TrackedEvidence, TrackedEvidence.request_id == r.id)
                for k, r in by_kind.items()
            },
            events={k: rows(AuditEvent, AuditEvent.request_id == r.id) for k, r in by_kind.items()},
            rules=rows(RequirementRule, RequirementRule.organisation_id == oakfield.id),
            standards=rows(AssessmentAnswer, AssessmentAnswer.assessment_id == assessment.id),
            dpia=rows(Dpia, Dpia.id == dpia_row.id)[0],
            dpia_answers=rows(DpiaAnswer, DpiaAnswer.dpia_id == dpia_row.id),
            entry=rows(DirectoryEntry, DirectoryEntry.id == entry.id)[0],
            curator_org=curator_org.id,
            curator_user=curator.id,
            password_hash=_bench_password_hash(),
            standards_version=assessment.questionnaire_version_id,
        )


def assessment_rows(session: Any, assessment_id: int, model: Any) -> list[Any]:
    return list(session.scalars(select(model).where(model.assessment_id == assessment_id)))


def _bench_password_hash() -> str:
    from portal.services.accounts.passwords import hash_password

    return hash_password(PASSWORD)


@dataclass
class _Organisations:
    schools: list[tuple[int, int, int]]  # (school id, trust id, admin user id)
    school_admin: str
    trust_admin: str
    mfa_secret: str


def _organisations(
    conn: Connection,
    ids: _Ids,
    out: _Writer,
    tables: Any,
    scale: Scale,
    templates: _Templates,
) -> _Organisations:
    organisation, user, membership = (
        tables["organisation"],
        tables["user_account"],
        tables["membership"],
    )
    now = utcnow()
    schools: list[tuple[int, int, int]] = []
    first_school = first_trust = ""

    def person(org_id: int, email: str, name: str, role: str) -> int:
        user_id = ids.take(user)
        out.add(user, {"id": user_id, "email": email, "name": name,
                       "password_hash": templates.password_hash, "is_active": True,
                       "created_at": now, "session_version": 1, "is_service": False})  # fmt: skip
        out.add(membership, {"id": ids.take(membership), "user_id": user_id,
                             "organisation_id": org_id, "role": role, "created_at": now})  # fmt: skip
        return user_id

    for t in range(scale.trusts):
        trust_id = ids.take(organisation)
        out.add(organisation, {"id": trust_id, "name": f"Bench Trust {t + 1:02d}", "kind": "trust",
                               "created_at": now, "require_mfa": False})  # fmt: skip
        email = f"admin@trust{t + 1:02d}.bench.example"
        person(trust_id, email, f"Trust {t + 1} Admin", "admin")
        first_trust = first_trust or email
        for s in range(scale.schools_per_trust):
            school_id = ids.take(organisation)
            out.add(organisation, {"id": school_id, "name": f"Bench School {t + 1:02d}-{s + 1:02d}",
                                   "kind": "school", "trust_id": trust_id, "created_at": now,
                                   "urn": f"9{t:02d}{s:03d}", "require_mfa": False})  # fmt: skip
            email = f"admin@school{t + 1:02d}-{s + 1:02d}.bench.example"
            schools.append((school_id, trust_id, person(school_id, email, "School Admin", "admin")))
            first_school = first_school or email
    out.flush()
    secret = conn.scalar(
        select(user.c.mfa_secret).where(user.c.email == "curator@northgate.example")
    )
    return _Organisations(schools, first_school, first_trust, secret or "")


def _suppliers(ids: _Ids, out: _Writer, tables: Any, count: int) -> list[int]:
    supplier = tables["supplier"]
    found = []
    now = utcnow()
    for n in range(count):
        supplier_id = ids.take(supplier)
        words = f"{WORDS[n % len(WORDS)]} {WORDS[(n // len(WORDS)) % len(WORDS)]}"
        out.add(supplier, {"id": supplier_id, "name": f"{words} Ltd {n + 1}", "created_at": now})
        found.append(supplier_id)
    out.flush()
    return found


def _school_suppliers(
    suppliers: list[int], number: int, trust_id: int, rng: random.Random
) -> list[int]:
    """Forty suppliers per school, half of them shared across its trust."""
    shared = [suppliers[(trust_id * 13 + k) % len(suppliers)] for k in range(20)]
    own = rng.sample(suppliers, 20)
    return shared + own


# (kind of template, status, share): what a school's requests look like.
MIX = (
    ("open", "sent", 10),
    ("started", "in_progress", 10),
    ("cloud_gaps", "submitted", 15),
    ("it_support", "submitted", 10),
    ("cloud_gaps", "rejected", 10),
    ("cloud_good", "accepted", 30),
    ("it_support", "accepted_with_conditions", 15),
)
STATUSES = [(kind, status) for kind, status, share in MIX for _ in range(share)]


def _school(
    ids: _Ids,
    out: _Writer,
    tables: Any,
    templates: _Templates,
    scale: Scale,
    school_id: int,
    admin_id: int,
    pool: list[int],
    rng: random.Random,
) -> tuple[int, int, int]:
    request, answer, evidence = tables["request"], tables["answer"], tables["evidence"]
    audit = tables["audit_event"]
    today = utcnow().date()
    answers = 0
    decided_id = 0
    for rule in templates.rules:
        out.add(tables["requirement_rule"], {**rule, "id": ids.take(tables["requirement_rule"]),
                                             "organisation_id": school_id, "updated_by_id": admin_id})  # fmt: skip
    for j in range(scale.requests_per_school):
        kind, status = STATUSES[(j * 37 + school_id) % len(STATUSES)]
        template = templates.requests[kind]
        request_id = ids.take(request)
        created = utcnow() - timedelta(days=rng.randint(1, 900))
        decided = status in ("accepted", "accepted_with_conditions", "rejected")
        row = {**template, "id": request_id, "reference": f"DD-B{request_id:07d}",
               "organisation_id": school_id, "supplier_id": pool[j % len(pool)],
               "contact_email": f"contact{j}@supplier{pool[j % len(pool)]}.example",
               "status": status, "created_by_id": admin_id, "created_at": created,
               "token_hash": None, "follows_request_id": None,
               "directory_consent": j % 4 == 0}  # fmt: skip
        if template["submitted_at"] is not None:
            row["submitted_at"] = created + timedelta(days=rng.randint(1, 20))
        if decided:
            decided_template = templates.requests["cloud_good"]
            row.update(
                decided_at=row["submitted_at"] + timedelta(days=3),
                decided_by_id=admin_id,
                decision_reason=decided_template["decision_reason"],
                decision_conditions=["Renew the certificate"]
                if status == "accepted_with_conditions"
                else None,
                next_review_date=today + timedelta(days=rng.randint(-120, 365)),
                decided_rules=templates.requests[kind]["decided_rules"]
                or decided_template["decided_rules"]
                if kind.startswith("cloud")
                else None,
            )
            if status == "rejected":
                row["rating"] = "red"
            decided_id = decided_id or (request_id if kind == "cloud_good" else 0)
        out.add(request, row)
        for source in templates.answers[kind]:
            out.add(answer, {**source, "id": ids.take(answer), "request_id": request_id})
            answers += 1
        for source in templates.evidence[kind]:
            evidence_id = ids.take(evidence)
            out.add(evidence, {**source, "id": evidence_id, "request_id": request_id,
                               "storage_key": f"bench{evidence_id:012d}"})  # fmt: skip
        for source in templates.tracked[kind]:
            # Expiries spread over two months past to a year ahead: some of
            # each status on every school's Evidence page.
            out.add(tables["tracked_evidence"], {
                **source, "id": ids.take(tables["tracked_evidence"]), "request_id": request_id,
                "expires_on": today + timedelta(days=rng.randint(-60, 365)),
            })  # fmt: skip
        events = templates.events[kind] + (
            [e for e in templates.events["cloud_good"] if e["action"] == "decided"]
            if decided
            else []
        )
        for source in events:
            out.add(audit, {**source, "id": ids.take(audit), "request_id": request_id,
                            "organisation_id": school_id, "actor_id": None,
                            "created_at": created})  # fmt: skip
    _school_side(ids, out, tables, templates, school_id, admin_id, pool, rng)
    return scale.requests_per_school, answers, decided_id


def _school_side(
    ids: _Ids,
    out: _Writer,
    tables: Any,
    templates: _Templates,
    school_id: int,
    admin_id: int,
    pool: list[int],
    rng: random.Random,
) -> None:
    """The school's own records: register details, standards, DPIAs, a feedback share."""
    now = utcnow()
    today = now.date()
    for supplier_id in pool[:12]:
        out.add(tables["supplier_use"], {
            "id": ids.take(tables["supplier_use"]), "organisation_id": school_id,
            "supplier_id": supplier_id, "category": rng.choice(CATEGORIES),
            "contract_start": today - timedelta(days=400), "contract_end": today + timedelta(days=rng.randint(-30, 700)),
            "data_held": "Pupil names and classes", "notes": "", "created_at": now,
            "next_review_date": today + timedelta(days=rng.randint(-60, 365)),
        })  # fmt: skip
    assessment = tables["assessment"]
    assessment_id = ids.take(assessment)
    out.add(assessment, {"id": assessment_id, "organisation_id": school_id, "kind": "standards",
                         "questionnaire_version_id": templates.standards_version,
                         "created_at": now, "updated_at": now})  # fmt: skip
    for source in templates.standards:
        out.add(tables["assessment_answer"], {**source, "id": ids.take(tables["assessment_answer"]),
                                              "assessment_id": assessment_id, "updated_by_id": admin_id})  # fmt: skip
    for n in range(2):
        dpia_id = ids.take(tables["dpia"])
        out.add(tables["dpia"], {**templates.dpia, "id": dpia_id, "organisation_id": school_id,
                                 "request_id": None, "review_of_id": None, "created_by_id": admin_id,
                                 "supplier_id": pool[n], "title": f"Tool {n + 1}",
                                 "decided_by_id": None, "advice_recorded_by_id": None})  # fmt: skip
        for source in templates.dpia_answers:
            out.add(tables["dpia_answer"], {**source, "id": ids.take(tables["dpia_answer"]),
                                            "dpia_id": dpia_id, "updated_by_id": admin_id})  # fmt: skip
    share_id = ids.take(tables["feedback_share"])
    out.add(tables["feedback_share"], {"id": share_id, "organisation_id": school_id,
                                       "curator_id": templates.curator_org, "request_id": None,
                                       "message": "Could you look at our standards?",
                                       "shared_by_id": admin_id, "shared_at": now})  # fmt: skip
    for n in range(2):
        out.add(tables["feedback_comment"], {"id": ids.take(tables["feedback_comment"]),
                                             "share_id": share_id, "author_id": templates.curator_user,
                                             "body": f"Comment {n + 1}", "created_at": now})  # fmt: skip


def _directory(
    ids: _Ids,
    out: _Writer,
    tables: Any,
    templates: _Templates,
    suppliers: list[int],
    count: int,
    rng: random.Random,
) -> list[int]:
    entry = tables["directory_entry"]
    today = utcnow().date()
    found = []
    for n in range(count):
        entry_id = ids.take(entry)
        product = f"{WORDS[n % len(WORDS)]} {WORDS[(n * 7) % len(WORDS)]} {n + 1}"
        out.add(entry, {**templates.entry, "id": entry_id, "listing_id": entry_id, "version": 1,
                        "supplier_id": suppliers[n % len(suppliers)], "product": product,
                        "category": CATEGORIES[n % len(CATEGORIES)], "source_request_id": None,
                        "summary": f"{product}: {rng.choice(WORDS).lower()} and "
                                   f"{rng.choice(WORDS).lower()} for schools.",
                        "rating": ("green", "amber", "red")[n % 3],
                        "review_due": today + timedelta(days=rng.randint(-90, 365)),
                        "created_by_id": templates.curator_user})  # fmt: skip
        found.append(entry_id)
    out.flush()
    return found


def _adoptions(
    ids: _Ids,
    out: _Writer,
    tables: Any,
    schools: list[tuple[int, int, int]],
    entries: list[int],
    rng: random.Random,
) -> None:
    if not entries:
        return
    now = utcnow()
    for school_id, _trust, admin_id in schools:
        for entry_id in rng.sample(entries, min(3, len(entries))):
            out.add(tables["adoption"], {"id": ids.take(tables["adoption"]),
                                         "organisation_id": school_id, "listing_id": entry_id,
                                         "entry_id": entry_id, "adopted_by_id": admin_id,
                                         "adopted_at": now})  # fmt: skip
