"""Migrations build the schema from empty, and agree with the models."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, make_url, text

from portal import create_app
from portal.cli import alembic_config
from portal.database import make_engine
from portal.models import Base
from portal.models.directory import outside_the_models


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, of the same kind as the test database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"migrate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_then_models_match(empty_database_url: str) -> None:
    app = create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x" * 40})
    with app.app_context():
        command.upgrade(alembic_config(), "head")
    engine = make_engine(empty_database_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": outside_the_models}
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], f"models and migrations disagree: {differences}"


VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"
RELEASED = Path(__file__).resolve().parent / "data" / "released_migrations.sha256"


def test_a_released_migration_is_never_edited() -> None:
    """A database upgraded past a revision never runs it again, so an edit
    to a released revision reaches nobody who already has it (issue 22, A3).
    A new revision gets its line in tests/data/released_migrations.sha256."""
    recorded = dict(
        reversed(line.split("  ", 1)) for line in RELEASED.read_text().splitlines() if line
    )
    problems = []
    for path in sorted(VERSIONS.glob("*.py")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if path.name not in recorded:
            problems.append(
                f"{path.name} is new: once it is final, add '{digest}  {path.name}' "
                f"to {RELEASED.name}"
            )
        elif recorded[path.name] != digest:
            problems.append(
                f"{path.name} changed after it was released: put it back as it was and "
                "write a new revision (flask db revision -m '...') for the change"
            )
    missing = sorted(set(recorded) - {p.name for p in VERSIONS.glob("*.py")})
    problems += [f"{name} was released and has gone: put it back" for name in missing]
    assert problems == []


def alembic_for(url: str) -> Config:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 40})
    with app.app_context():
        return alembic_config()


def models_differ(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": outside_the_models}
        )
        differences = list(compare_metadata(context, Base.metadata))
    engine.dispose()
    return differences


def test_upgrade_downgrade_to_base_and_upgrade_again(empty_database_url: str) -> None:
    config = alembic_for(empty_database_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = make_engine(empty_database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(config, "head")
    assert models_differ(empty_database_url) == []


def test_a_database_that_missed_the_review_column_gets_it(empty_database_url: str) -> None:
    """As upgraded before commit 8ce6cff edited the full-DPIA revision."""
    config = alembic_for(empty_database_url)
    command.upgrade(config, "0406d49269da")
    engine = make_engine(empty_database_url)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("PRAGMA foreign_keys=OFF"))
        context = MigrationContext.configure(conn)
        with Operations.context(context):
            with (
                context.begin_transaction(),
                Operations(context).batch_alter_table("dpia") as batch,
            ):
                batch.drop_constraint("fk_dpia_review_of_id_dpia", type_="foreignkey")
                batch.drop_column("review_of_id")
    assert "review_of_id" not in {c["name"] for c in inspect(engine).get_columns("dpia")}
    engine.dispose()
    command.upgrade(config, "head")
    assert models_differ(empty_database_url) == []


def test_the_demo_survives_every_revision_down_and_up(empty_database_url: str) -> None:
    """With the demo's rows in place, each revision downgrades and upgrades
    in turn; at the end the schema matches the models and the demo seeds again."""
    app = create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x" * 40})
    with app.app_context():
        config = alembic_config()
        command.upgrade(config, "head")
        assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
        script = ScriptDirectory.from_config(config)
        revisions = [r.revision for r in script.walk_revisions()]  # newest first
        for _ in revisions:
            command.downgrade(config, "-1")
        for revision in reversed(revisions):
            command.upgrade(config, revision)
        assert models_differ(empty_database_url) == []
        seeded = app.test_cli_runner().invoke(args=["seed-demo"])
        assert seeded.exit_code == 0, seeded.output


def test_db_upgrade_command(empty_database_url: str) -> None:
    app = create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x" * 40})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM request")).scalar() == 0
    engine.dispose()
    # A second run is a no-op.
    assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 15000
    engine.dispose()
