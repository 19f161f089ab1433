"""Demo data for trying the portal locally (``flask --app app seed-demo``).

Idempotent: running it again adds nothing and prints the same logins and link.
The demo supplier link's token is derived from the installation's secret key,
so it can be printed on every run while only its hash is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from .models import (
    AssessmentAnswer,
    DirectoryEntry,
    Dpia,
    DpiaAnswer,
    Organisation,
    OrgKind,
    Request,
    RequestStatus,
    Role,
    User,
    utcnow,
)
from .questionnaire import Questionnaire, logic
from .questionnaire.examples import example_answers
from .questionnaire.expiry import add_months
from .services.accounts import users as accounts
from .services.accounts.passwords import hash_password
from .services.directory import curation as directory
from .services.platform.questionnaire_registry import current_definitions
from .services.platform.runtime import runtime
from .services.platform.tokens import hash_token
from .services.requests import answering as responses
from .services.requests import evidence
from .services.requests import lifecycle as requests
from .services.requirements import changes as profile_changes
from .services.requirements import profiles
from .services.requirements.profiles import RuleInput
from .services.school import dpia, feedback, standards
from .services.school import register as supplier_register

DEMO_PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 (demo data, refused in production)

ORGANISATIONS = [
    ("Oakfield Primary School", OrgKind.SCHOOL, None, "100001"),
    ("Riverside Learning Trust", OrgKind.TRUST, None, None),
    ("Riverside Academy", OrgKind.SCHOOL, "Riverside Learning Trust", "100002"),
    ("Meadow Lane Primary", OrgKind.SCHOOL, "Riverside Learning Trust", "100003"),
    ("Northgate Data Protection", OrgKind.CURATOR, None, None),
]

USERS = [
    ("admin@oakfield.example", "Amira Khan", "Oakfield Primary School", Role.ADMIN),
    ("reviewer@oakfield.example", "Ben Walker", "Oakfield Primary School", Role.REVIEWER),
    ("viewer@oakfield.example", "Chloe Evans", "Oakfield Primary School", Role.VIEWER),
    ("it@riverside.example", "Dev Patel", "Riverside Learning Trust", Role.ADMIN),
    ("head@riverside-academy.example", "Erin Hughes", "Riverside Academy", Role.REVIEWER),
    ("office@meadowlane.example", "Fola Adeyemi", "Meadow Lane Primary", Role.ADMIN),
    ("curator@northgate.example", "Grace Lee", "Northgate Data Protection", Role.CURATOR),
]

# (reference, organisation, supplier, contact, email, state[, questionnaire, answer changes])
REQUESTS: list[tuple[Any, ...]] = [
    (
        "DD-DEMO01",
        "Oakfield Primary School",
        "Acme IT Services Ltd",
        "Sam Carter",
        "sam@acme-it.example",
        RequestStatus.SENT,
    ),
    (
        "DD-DEMO02",
        "Oakfield Primary School",
        "Brightboard Learning",
        "Priya Shah",
        "priya@brightboard.example",
        RequestStatus.IN_PROGRESS,
    ),
    (
        "DD-DEMO03",
        "Oakfield Primary School",
        "Northern Schools IT",
        "Tom Reid",
        "tom@nsit.example",
        RequestStatus.SUBMITTED,
    ),
    (
        "DD-DEMO04",
        "Riverside Academy",
        "Acme IT Services Ltd",
        "Sam Carter",
        "sam@acme-it.example",
        RequestStatus.SENT,
    ),
    # A cloud supplier with gaps to review: hosting, breach notice and AI training.
    (
        "DD-DEMO05",
        "Oakfield Primary School",
        "Cloudy Classroom Ltd",
        "Jo Moss",
        "jo@cloudyclassroom.example",
        RequestStatus.SUBMITTED,
        "cloud_supplier",
        {
            "hosting_location": "other",
            "breach_notice_hours": 72,
            "ai_training": "yes",
            "deletion_days": 45,
        },
    ),
    # A second cloud supplier, to compare side by side with the first.
    (
        "DD-DEMO07",
        "Oakfield Primary School",
        "StarMaths Online",
        "Lee Grant",
        "lee@starmaths.example",
        RequestStatus.SUBMITTED,
        "cloud_supplier",
        {"breach_notice_hours": 24},
    ),
    # A trust school's cloud supplier, whose DPIA waits for the DPO service's advice.
    (
        "DD-DEMO08",
        "Meadow Lane Primary",
        "Brightboard Learning",
        "Priya Shah",
        "priya@brightboard.example",
        RequestStatus.SUBMITTED,
        "cloud_supplier",
        {"breach_notice_hours": 48},
    ),
    # A screening that finds a high risk and waits for its follow-up.
    (
        "DD-DEMO06",
        "Oakfield Primary School",
        "Cloudy Classroom Ltd",
        "Jo Moss",
        "jo@cloudyclassroom.example",
        RequestStatus.SUBMITTED,
        "dpia_screening",
        {},
    ),
]

# A Cyber Essentials certificate that runs out next month and one that ran
# out last month (months from today), so a newcomer sees evidence expiry at
# once (issue 26): on Suppliers -> Evidence, the home page and the requests.
DEMO_CE_EXPIRY = {"DD-DEMO03": 1, "DD-DEMO05": -1}

# Oakfield's own rules, so the demo shows a profile at work: (key, question, rule).
DEMO_RULES = [
    (
        "Oakfield Primary School",
        "it_support",
        "p1_response_minutes",
        RuleInput(
            "max", "30", "critical", False, "Our site team cannot cover a P1 outage for an hour."
        ),
    ),
    (
        "Riverside Learning Trust",
        "cloud_supplier",
        "hosting_location",
        RuleInput("in", ["uk", "eea"], "critical", False, "Trust policy: UK or EEA hosting only."),
    ),
]


def demo_token(reference: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"demo-link:{reference}".encode(), hashlib.sha256).hexdigest()


def seed_demo(session: Session) -> str:
    """Create what is missing and return the text to print (logins and a link)."""
    orgs = _organisations(session)
    users = _users(session, orgs)
    # An installation may ship fewer questionnaires: demo what it has.
    installed = {q.key: q for q in current_definitions(session)}
    for org_name, key, question_id, rule in DEMO_RULES:
        if key in installed and question_id not in profiles.own_rules(
            session, orgs[org_name].id, key
        ):
            profile_changes.save_rule(
                session, orgs[org_name], users[org_name], installed[key], question_id, rule
            )
    for spec in REQUESTS:
        if (spec[6] if len(spec) > 6 else "it_support") in installed:
            _request(session, orgs, users, *spec)
    _directory_entry(session, users["Northgate Data Protection"])
    if dpia.KEY in installed and {"dpia_screening", "cloud_supplier"} <= set(installed):
        _dpia(session, orgs["Oakfield Primary School"], users["Oakfield Primary School"])
    if dpia.KEY in installed and "cloud_supplier" in installed:
        _dpia_for_advice(session, orgs["Meadow Lane Primary"], users["Meadow Lane Primary"])
    if standards.KEY in installed:
        _standards(session, orgs["Oakfield Primary School"], users["Oakfield Primary School"])
    link = runtime(session).links.url("supplier.open_link", token=demo_token("DD-DEMO01"))
    base = current_app.config["PORTAL_BASE_URL"]

    lines = [
        f"Demo portal at {base}/",
        "",
        f"Sign in with any of these (password: {DEMO_PASSWORD}):",
    ]
    lines += [f"  {email:34} {role:9} {org}" for email, _, org, role in USERS]
    lines += ["", "A supplier link for request DD-DEMO01 (no account needed):", f"  {link}"]
    lines += _printable(session, orgs["Oakfield Primary School"])
    links = runtime(session).links
    lines += [
        "",
        "A trust across its schools: it@riverside.example, then",
        f"  {links.url('trust.all_requests')} (open a school's request: read only)",
        "The DPO service's caseload (Meadow Lane's DPIA waits for advice): "
        "curator@northgate.example, then",
        f"  {links.url('feedback.shares')}",
    ]
    return "\n".join(lines)


def _printable(session: Session, school: Organisation) -> list[str]:
    """Where each printable report of the demo is (signed in as Oakfield's staff)."""
    links = runtime(session).links
    found = []
    rated = session.scalar(select(Request).where(Request.reference == "DD-DEMO03"))
    if rated is not None:
        found.append(
            ("DD-DEMO03's report", links.url("exports.request_report", request_id=rated.id))
        )
    begun = session.scalar(
        select(Dpia).where(Dpia.organisation_id == school.id).order_by(Dpia.id).limit(1)
    )
    if begun is not None:
        found.append((f"{begun.title} DPIA", links.url("dpia.report", dpia_id=begun.id)))
    found.append(("Governors' pack", links.url("standards.governors_pack")))
    return ["", "Printable reports (PDF), signed in as Oakfield's admin or reviewer:"] + [
        f"  {label + ':':27} {url}" for label, url in found
    ]


# Oakfield's own side: a digital lead, part of the self-assessment, a plan and
# its IT support provider in the register, so the Standards and Suppliers pages
# have something to show.
DEMO_SELF_ASSESSMENT = {
    "digital_lead_named": "yes",
    "link_governor": "yes",
    "registers_up_to_date": "partly",
    "continuity_plans": "not_yet",
    "digital_strategy": "fully",
}


def _standards(session: Session, school: Organisation, admin: User) -> None:
    if standards.find_assessment(session, school) is not None:
        return
    school.digital_lead = admin
    school.link_governor = "Pat Green"
    assessment = standards.start_assessment(session, school)
    for question_id, value in DEMO_SELF_ASSESSMENT.items():
        session.add(
            AssessmentAnswer(
                assessment_id=assessment.id, question_id=question_id, value=value,
                updated_by_id=admin.id,
            )
        )  # fmt: skip
    today = utcnow().date()
    standards.save_plan(
        session, school, admin, "DfE digital leadership standard 3",
        today + timedelta(days=120), today + timedelta(days=300),
    )  # fmt: skip
    supplier = supplier_register.supplier_named(session, "Northern Schools IT")
    supplier_register.save_details(
        session, school, admin, supplier,
        supplier_register.Details(
            "it_support", today - timedelta(days=400), today + timedelta(days=330),
            "Staff and pupil accounts; the school network", "", None,
        ),
    )  # fmt: skip


def _dpia(session: Session, school: Organisation, admin: User) -> None:
    """Cloudy Classroom screened high (DD-DEMO06), then answered the extended
    questionnaire (DD-DEMO05): its full DPIA is begun, prefilled from both."""
    found = {
        row.reference: row
        for row in session.scalars(
            select(Request).where(Request.reference.in_(["DD-DEMO05", "DD-DEMO06"]))
        )
    }
    cloud, screening = found.get("DD-DEMO05"), found.get("DD-DEMO06")
    if cloud is None or screening is None or dpia.for_request(session, cloud):
        return
    cloud.follows_request_id = screening.id
    session.flush()
    session.refresh(cloud)
    dpia.start_dpia(session, school, admin, cloud)


def _dpia_for_advice(session: Session, school: Organisation, admin: User) -> None:
    """Meadow Lane's DPIA of Brightboard Learning (DD-DEMO08), every question
    answered, waits for the advice of the DPO service it was shared with."""
    cloud = session.scalar(select(Request).where(Request.reference == "DD-DEMO08"))
    if cloud is None or dpia.for_request(session, cloud):
        return
    begun = dpia.start_dpia(session, school, admin, cloud)
    questionnaire = dpia.questionnaire_of(begun)
    stored = dpia.stored_answers(session, begun)
    # What was copied in stays, as a school that only fills the gaps would
    # leave it; the risk register's proposed rows are rated afresh.
    kept = {k: r.value for k, r in stored.items() if k != "risk_register"}
    answers = example_answers(questionnaire, fixed=kept)
    now = utcnow()
    for question_id, value in answers.items():
        if question_id in stored:
            stored[question_id].value = value
        else:
            session.add(
                DpiaAnswer(dpia_id=begun.id, question_id=question_id, value=value,
                           updated_at=now, updated_by_id=admin.id)
            )  # fmt: skip
    session.flush()
    dpia.ask_for_advice(session, begun, admin)
    feedback.share(
        session, school, admin, begun, "Is a 48-hour breach notice acceptable for pupil data?"
    )


def _organisations(session: Session) -> dict[str, Organisation]:
    found: dict[str, Organisation] = {}
    for name, kind, trust_name, urn in ORGANISATIONS:
        org = session.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            trust = found.get(trust_name) if trust_name else None
            org = accounts.create_organisation(session, name, kind, trust=trust, urn=urn)
        found[name] = org
    return found


def _users(session: Session, orgs: dict[str, Organisation]) -> dict[str, User]:
    password_hash = None
    found: dict[str, User] = {}
    for email, name, org_name, role in USERS:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            user = accounts.create_user(
                session,
                email=email,
                name=name,
                organisation=orgs[org_name],
                role=role,
                password_hash=password_hash,
            )
        found[org_name] = found.get(org_name, user)
    return found


def _request(
    session: Session,
    orgs: dict[str, Organisation],
    users: dict[str, User],
    reference: str,
    org_name: str,
    supplier: str,
    contact: str,
    email: str,
    state: RequestStatus,
    questionnaire_key: str = "it_support",
    changes: dict[str, Any] | None = None,
) -> None:
    if session.scalar(select(Request.id).where(Request.reference == reference)) is not None:
        return
    organisation = orgs[org_name]
    author = users[org_name]
    issued = requests.create_request(
        session,
        organisation,
        author,
        requests.NewRequest(
            supplier_name=supplier,
            contact_name=contact,
            contact_email=email,
            questionnaire_key=questionnaire_key,
            due_date=(utcnow() + timedelta(days=21)).date(),
            message="Please complete this before our contract renewal.",
        ),
    )
    row = issued.request
    row.reference = reference
    row.token_hash = hash_token(demo_token(reference))
    dates: dict[str, evidence.Dates] = {}
    if reference in DEMO_CE_EXPIRY:
        expires = add_months(utcnow().date(), DEMO_CE_EXPIRY[reference])
        issued_on = add_months(expires, -12)
        changes = {
            **(changes or {}),
            "cyber_essentials_expiry": expires.isoformat(),
            # Cyber Essentials held, so its expiry is asked.
            **(
                {"certifications": ["ce"]}
                if questionnaire_key == "cloud_supplier"
                else {"cyber_essentials": "ce"}
            ),
        }
        dates["certificate_files"] = evidence.Dates(issued_on, expires, expires <= utcnow().date())
    if state in (RequestStatus.IN_PROGRESS, RequestStatus.SUBMITTED):
        questionnaire = responses.questionnaire_of(row)
        answers = example_answers(questionnaire, fixed=changes)
        sections = (
            questionnaire.sections
            if state == RequestStatus.SUBMITTED
            else questionnaire.sections[:2]
        )
        chosen = {q.id for section in sections for q in section.answerable}
        responses.save_answers(session, row, {k: v for k, v in answers.items() if k in chosen})
        if state == RequestStatus.SUBMITTED:
            attach_demo_files(session, row, questionnaire, dates)
    if state == RequestStatus.SUBMITTED:
        responses.submit_response(
            session, row, responses.Declaration(contact, "Account manager", directory_consent=True)
        )
    session.flush()


def _directory_entry(session: Session, curator: User) -> None:
    """The curator publishes StarMaths Online from its consented submission."""
    source = session.scalar(select(Request).where(Request.reference == "DD-DEMO07"))
    if source is None or session.scalar(
        select(DirectoryEntry.id).where(DirectoryEntry.source_request_id == source.id)
    ):
        return
    entry = directory.draft_from_submission(
        session,
        curator,
        source,
        directory.EntryDetails(
            product="StarMaths Online",
            category="learning_platform",
            summary="Strong answers throughout: UK hosting, 24-hour breach notice, no AI "
            "training on pupil data.",
            rating="green",
            conditions="",
            review_due=None,
        ),
    )
    directory.publish(session, curator, entry)


# The smallest well-formed PDF: the demo needs a file to show, not a document.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def attach_demo_files(
    session: Session,
    row: Request,
    questionnaire: Questionnaire,
    dates: Mapping[str, evidence.Dates] | None = None,
) -> None:
    """A small PDF for every file question, and as evidence wherever a question
    asks for it; with the dates its expiry rule asks for (issued two months
    ago, a year's life), unless ``dates`` gives a question's own."""
    shown = logic.visibility(questionnaire, responses.answer_values(row))
    today = utcnow().date()
    for question in questionnaire.questions():
        if not shown.get(question.id):
            continue
        upload = FileStorage(io.BytesIO(DEMO_PDF), filename=f"{question.id}.pdf")
        life = question.life if question.takes_files else None
        given = (dates or {}).get(question.id) or (
            evidence.Dates(today - timedelta(days=60), today + timedelta(days=305))
            if life is not None and life.source == "asked"
            else evidence.Dates(today - timedelta(days=60))
            if life is not None and life.source == "period"
            else evidence.Dates()
        )
        if question.type == "file" and "pdf" in question.accept:
            ids = evidence.store_uploads(session, row, question, [upload], [], given)
            responses.save_answers(session, row, {question.id: ids})
        elif question.evidence != "none":
            evidence.update_attachments(session, row, question, [], [upload], given)
