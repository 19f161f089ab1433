"""school summaries

What the trust overview shows of each school, stored where it is read
(issue 23): a trust of 25 schools with 200 requests each spent 215 ms
gathering every school's register and standards on each view.

Triggers move a school's ``generation`` on whenever anything its summary
rests on changes, whoever writes it (the services, a bulk delete, a cascade,
a hand-written fix), and the next view computes that summary again
(services/school/school_summary.py). They create the row when there is none,
so a view computing a summary at that moment cannot store it over the change.
A change to a trust's request moves on the schools it was made for.

On SQLite, a later revision that recreates one of these tables in batch mode
must drop its triggers first and create them again after (as for the
directory search's).

Revision ID: c4e8a2d6f0b1
Revises: 9670521e1400
Create Date: 2026-12-04 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c4e8a2d6f0b1"
down_revision = "9670521e1400"
branch_labels = None
depends_on = None


# Tables that name their school in organisation_id.
OWNED = (
    "request_on_behalf",
    "supplier_use",
    "adoption",
    "dpia",
    "assessment",
    "standard_plan",
    "raci_entry",
)
# Tables that name it through their assessment.
ASSESSMENT_PARTS = ("assessment_answer", "assessment_file")
# What of a request the register shows: a supplier's autosaves leave the
# request's status alone after the first, and touch none of these.
REQUEST_COLUMNS = (
    "organisation_id, supplier_id, reference, status, rating, created_at, submitted_at, "
    "decision_conditions, next_review_date"
)
# A school that has not begun its self-assessment answers the newest version.
STANDARDS_KEY = "school_it_standards"

PG_UP = [
    """
    CREATE FUNCTION school_summary_bump(organisations integer[]) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO school_summary (organisation_id, generation)
        SELECT id, 1 FROM organisation WHERE id = ANY(organisations) ORDER BY id
        ON CONFLICT (organisation_id) DO UPDATE SET generation = school_summary.generation + 1
    $$
    """,
    """
    CREATE FUNCTION school_summary_owner_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM school_summary_bump(ARRAY[NEW.organisation_id]);
        ELSIF TG_OP = 'UPDATE' THEN
            PERFORM school_summary_bump(ARRAY[OLD.organisation_id, NEW.organisation_id]);
        ELSE
            PERFORM school_summary_bump(ARRAY[OLD.organisation_id]);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION school_summary_assessment_part_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM school_summary_bump(
                ARRAY(SELECT organisation_id FROM assessment WHERE id = NEW.assessment_id));
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM school_summary_bump(
                ARRAY(SELECT organisation_id FROM assessment WHERE id = OLD.assessment_id));
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION school_summary_request_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM school_summary_bump(ARRAY[NEW.organisation_id] || ARRAY(
                SELECT organisation_id FROM request_on_behalf WHERE request_id = NEW.id));
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM school_summary_bump(ARRAY[OLD.organisation_id] || ARRAY(
                SELECT organisation_id FROM request_on_behalf WHERE request_id = OLD.id));
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION school_summary_all_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE school_summary SET generation = generation + 1;
        RETURN NULL;
    END
    $$
    """,
    *(
        f"""
        CREATE TRIGGER school_summary_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION school_summary_owner_changed()
        """
        for table in OWNED
    ),
    *(
        f"""
        CREATE TRIGGER school_summary_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION school_summary_assessment_part_changed()
        """
        for table in ASSESSMENT_PARTS
    ),
    f"""
    CREATE TRIGGER school_summary_request
    AFTER INSERT OR DELETE OR UPDATE OF {REQUEST_COLUMNS} ON request
    FOR EACH ROW EXECUTE FUNCTION school_summary_request_changed()
    """,
    f"""
    CREATE TRIGGER school_summary_questionnaire_version AFTER INSERT ON questionnaire_version
    FOR EACH ROW WHEN (NEW.key = '{STANDARDS_KEY}')
    EXECUTE FUNCTION school_summary_all_changed()
    """,
    """
    CREATE TRIGGER school_summary_supplier AFTER UPDATE OF name ON supplier
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION school_summary_all_changed()
    """,
]

PG_DOWN = [
    *(f"DROP TRIGGER IF EXISTS school_summary_{t} ON {t}" for t in OWNED + ASSESSMENT_PARTS),
    "DROP TRIGGER IF EXISTS school_summary_request ON request",
    "DROP TRIGGER IF EXISTS school_summary_questionnaire_version ON questionnaire_version",
    "DROP TRIGGER IF EXISTS school_summary_supplier ON supplier",
    "DROP FUNCTION IF EXISTS school_summary_all_changed()",
    "DROP FUNCTION IF EXISTS school_summary_request_changed()",
    "DROP FUNCTION IF EXISTS school_summary_assessment_part_changed()",
    "DROP FUNCTION IF EXISTS school_summary_owner_changed()",
    "DROP FUNCTION IF EXISTS school_summary_bump(integer[])",
]


def _sqlite_trigger(table: str, event: str, organisations: str) -> str:
    """Move on the generations of the organisations this condition on
    ``organisation.id`` picks (a deleted one has no summary to keep)."""
    when = f"UPDATE OF {REQUEST_COLUMNS}" if table == "request" and event == "update" else event
    # Built from this file's own constants: nothing from outside reaches the SQL.
    head = f"CREATE TRIGGER school_summary_{table}_{event} AFTER {when.upper()} ON {table}"
    bump = f"SELECT id, 1 FROM organisation WHERE {organisations}"  # noqa: S608
    return (
        f"{head} BEGIN INSERT INTO school_summary (organisation_id, generation) {bump} "
        "ON CONFLICT (organisation_id) DO UPDATE SET generation = generation + 1; END"
    )


# The rows each event has: an update's old and new.
SQLITE_ROWS = {"insert": ("new",), "update": ("old", "new"), "delete": ("old",)}


def _sqlite_up() -> list[str]:
    found = []
    for event, rows in SQLITE_ROWS.items():

        def ids(column: str, rows: tuple[str, ...] = rows) -> str:
            return ", ".join(f"{row}.{column}" for row in rows)

        found += [_sqlite_trigger(t, event, f"id IN ({ids('organisation_id')})") for t in OWNED]
        found += [
            _sqlite_trigger(
                table, event,
                f"id IN (SELECT organisation_id FROM assessment WHERE id IN ({ids('assessment_id')}))",  # noqa: S608
            )
            for table in ASSESSMENT_PARTS
        ]  # fmt: skip
        found.append(
            _sqlite_trigger(
                "request", event,
                f"id IN ({ids('organisation_id')}) OR id IN (SELECT organisation_id "  # noqa: S608
                f"FROM request_on_behalf WHERE request_id IN ({ids('id')}))",
            )
        )  # fmt: skip
    everything = "UPDATE school_summary SET generation = generation + 1;"
    found += [
        f"""
        CREATE TRIGGER school_summary_questionnaire_version AFTER INSERT ON questionnaire_version
        WHEN new.key = '{STANDARDS_KEY}'
        BEGIN {everything} END
        """,
        f"""
        CREATE TRIGGER school_summary_supplier AFTER UPDATE OF name ON supplier
        WHEN old.name IS NOT new.name
        BEGIN {everything} END
        """,
    ]
    return found


def _sqlite_down() -> list[str]:
    names = [
        f"school_summary_{table}_{event}"
        for table in (*OWNED, *ASSESSMENT_PARTS, "request")
        for event in SQLITE_ROWS
    ]
    names += ["school_summary_questionnaire_version", "school_summary_supplier"]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


def upgrade() -> None:
    op.create_table(
        "school_summary",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "generation",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="moved on by every change the summary rests on",
        ),
        sa.Column(
            "stored_generation",
            sa.Integer(),
            nullable=True,
            comment="the generation the content was computed at",
        ),
        sa.Column(
            "computed_on", sa.Date(), nullable=True, comment="overdue is a matter of the date"
        ),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_school_summary_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_school_summary")),
    )
    _run(PG_UP, _sqlite_up())


def downgrade() -> None:
    _run(PG_DOWN, _sqlite_down())
    op.drop_table("school_summary")


def _run(postgresql: list[str], sqlite: list[str]) -> None:
    dialect = op.get_bind().dialect.name
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"no school summary triggers for {dialect}")
    for statement in statements:
        op.execute(statement)
