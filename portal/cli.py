"""Flask commands: ``flask --app app <command>``."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from .config import ROOT
from .database import begin_write
from .extensions import db
from .models import Organisation, OrgKind, Role, User
from .questionnaire import DefinitionError
from .questionnaire.definition import load_files
from .services.accounts import users as accounts
from .services.errors import ServiceError

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
questionnaires_cli = AppGroup("questionnaires", help="Questionnaire definition files.")


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration for this app's database (or the URL given)."""
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    database = url or current_app.config["DATABASE_URL"]
    config.set_main_option("sqlalchemy.url", database.replace("%", "%%"))
    return config


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the database to the newest schema (or REVISION)."""
    upgrade_database(revision)
    if revision == "head":
        from .services.requirements.ratings import rate_unrated

        # Ratings kept on rows since issue 23: rows from before get theirs now.
        with db.new_session() as session:
            rated = rate_unrated(session)
            session.commit()
        if rated:
            click.echo(f"Rated {rated} trust requests and adoptions for their schools")


def upgrade_database(revision: str = "head", url: str | None = None) -> None:
    """Bring a database to ``revision`` (imports Alembic only when it is needed)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models."""
    from alembic import command

    command.revision(alembic_config(), message=message, autogenerate=True)


@db_cli.command("current")
def db_current() -> None:
    """Show the database's revision."""
    from alembic import command

    command.current(alembic_config())


@questionnaires_cli.command("list")
def questionnaires_list() -> None:
    """Key, version, title, question count, SHA-256 prefix and where each
    version came from (its file, or the curator who published it)."""
    from .services.platform.questionnaire_publishing import catalogue

    for listing in catalogue(db.session):
        for version in reversed(listing.versions):
            q = version.questionnaire
            if version.file_name:
                source = f"file {version.file_name}"
            else:
                when = version.published_at.date().isoformat() if version.published_at else ""
                source = f"published {when} by {version.published_by or 'the command line'}"
            state = " (retired)" if listing.retired else ""
            click.echo(
                f"{q.key}\t{q.version}\t{q.title}\t{q.question_count} questions\t"
                f"{q.sha256[:12]}\t{source}{state}"
            )


@questionnaires_cli.command("check")
def questionnaires_check() -> None:
    """Validate every definition file; exit 1 with one line per problem."""
    from .services.platform.questionnaire_registry import published_conflicts

    # The files as they are now (the app loaded them when it started).
    folder = Path(current_app.config.get("QUESTIONNAIRE_FOLDER") or ROOT / "questionnaires")
    try:
        files = load_files(folder)
    except DefinitionError as exc:
        for line in exc.problems:
            click.echo(line)
        sys.exit(1)
    from .services.requests.foreign_assessments import mapping_problems

    problems = published_conflicts(db.session, files) + mapping_problems(db.session)
    for line in problems:
        click.echo(line)
    if problems:
        sys.exit(1)
    click.echo(f"{len(files)} questionnaire(s) OK")


@questionnaires_cli.command("export")
@click.argument("key")
@click.option("--version", type=int, help="The version (the newest when left out).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def questionnaires_export(key: str, version: int | None, out: Path) -> None:
    """Write a questionnaire as the workbook a curator edits (questionnaires/README.md)."""
    from .services.platform.questionnaire_registry import find_version
    from .services.platform.questionnaire_workbooks import workbook_of

    try:
        questionnaire = find_version(db.session, key, version)
    except ServiceError as exc:
        raise click.UsageError(exc.message) from exc
    out.write_bytes(workbook_of(questionnaire))
    click.echo(f"{questionnaire.key} version {questionnaire.version} written to {out}")


@questionnaires_cli.command("import")
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--publish", is_flag=True, help="Publish it as a new version once it is sound.")
def questionnaires_import(workbook: Path, publish: bool) -> None:
    """Read a questionnaire workbook and check it (exit 1 with one line per
    problem, by sheet, row and column); with --publish, offer it for new
    requests at once, as a curator's upload does."""
    from .questionnaire.workbook import WorkbookProblems
    from .services.platform import questionnaire_publishing
    from .services.platform.questionnaire_workbooks import read_workbook

    try:
        questionnaire = read_workbook(workbook.read_bytes())
    except WorkbookProblems as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        sys.exit(1)
    click.echo(
        f"{questionnaire.key} version {questionnaire.version}: {questionnaire.title}, "
        f"{questionnaire.question_count} questions, sha256 {questionnaire.sha256[:12]}"
    )
    if publish:
        # A writer from the start: on SQLite a transaction that reads, then
        # writes, fails with "database is locked" while app servers write.
        db.session.rollback()
        begin_write(db.session)
        try:
            questionnaire_publishing.publish(db.session, questionnaire, None, None)
        except ServiceError as exc:
            click.echo(exc.message)
            sys.exit(1)
        db.session.commit()
        click.echo("Published: new requests use it from now on")


@questionnaires_cli.command("retire")
@click.argument("key")
@click.option("--restore", is_flag=True, help="Offer a retired questionnaire again.")
def questionnaires_retire(key: str, restore: bool) -> None:
    """Stop new requests using a questionnaire (requests sent keep theirs)."""
    from .services.platform import questionnaire_publishing

    change = questionnaire_publishing.restore if restore else questionnaire_publishing.retire
    begin_write(db.session)  # as import --publish
    try:
        change(db.session, key, None, None)
    except ServiceError as exc:
        raise click.UsageError(exc.message) from exc
    db.session.commit()
    click.echo(f"{key} {'restored' if restore else 'retired'}")


@click.command("create-org")
@with_appcontext
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice([k.value for k in OrgKind]), required=True)
@click.option("--trust-id", type=int, help="Id of the trust a school belongs to.")
@click.option("--urn", help="DfE unique reference number.")
def create_org(name: str, kind: str, trust_id: int | None, urn: str | None) -> None:
    """Create an organisation and print its id."""
    trust = db.session.get(Organisation, trust_id) if trust_id else None
    if trust_id and trust is None:
        raise click.UsageError(f"No organisation with id {trust_id}")
    try:
        organisation = accounts.create_organisation(db.session, name, kind, trust=trust, urn=urn)
    except ServiceError as exc:
        raise click.UsageError(exc.message) from exc
    db.session.commit()
    click.echo(f"Created {organisation.kind} {organisation.name!r} with id {organisation.id}")


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--org-id", type=int, required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.password_option(help="Prompted for when not given.")
def create_user(email: str, name: str, org_id: int, role: str, password: str) -> None:
    """Create a user with a password and a role in an organisation."""
    organisation = db.session.get(Organisation, org_id)
    if organisation is None:
        raise click.UsageError(f"No organisation with id {org_id}")
    try:
        user = accounts.create_user(
            db.session,
            email=email,
            name=name,
            organisation=organisation,
            role=role,
            password=password,
        )
    except ServiceError as exc:
        raise click.UsageError(exc.message) from exc
    db.session.commit()
    click.echo(f"Created {user.email} as {role} of {organisation.name}")


@click.command("reset-authenticator")
@with_appcontext
@click.argument("email")
def reset_authenticator_command(email: str) -> None:
    """Remove a person's authenticator app and recovery codes (a lost phone, for
    someone no single organisation's admin may reset) and sign them out everywhere."""
    from .services.accounts import mfa

    user = db.session.scalar(select(User).where(User.email == accounts.normalise_email(email)))
    if user is None:
        raise click.UsageError(f"No account has the email address {email}")
    try:
        mfa.reset(db.session, user, None)
    except ServiceError as exc:
        raise click.UsageError(exc.message) from exc
    db.session.commit()
    click.echo(
        f"The authenticator app of {user.email} was removed and they were signed out "
        "everywhere; they set it up again at their next sign-in."
    )


@click.command("create-api-key")
@with_appcontext
@click.option("--org", "org_id", type=int, required=True, help="The organisation's id.")
@click.option("--name", required=True, help="What the key is for, e.g. Trust tracker sync.")
@click.option("--scope", type=click.Choice(["read", "write"]), required=True)
def create_api_key_command(org_id: int, name: str, scope: str) -> None:
    """Make an organisation API key and print it, this once (we keep only its hash)."""
    from .services.accounts import api_keys

    organisation = db.session.get(Organisation, org_id)
    if organisation is None:
        raise click.UsageError(f"There is no organisation with id {org_id}")
    try:
        new = api_keys.create_api_key(db.session, organisation, None, name, scope)
    except ServiceError as exc:
        raise click.UsageError(exc.message) from exc
    db.session.commit()
    click.echo(
        f"API key {new.key.name!r} ({scope}) for {organisation.name}. Keep it now: it is not shown again.",
        err=True,
    )
    click.echo(new.secret)


@click.command("backup")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The archive to write (.tar.gz): database and evidence files.",
)
@with_appcontext
def backup_command(out: Path) -> None:
    """Back up the database and the evidence files while the portal runs."""
    from .services.jobs.backup import BackupError, describe, make_backup

    try:
        manifest = make_backup(db.engine, Path(current_app.config["UPLOAD_FOLDER"]), out)
    except BackupError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Wrote {out}: {describe(manifest)}")


@click.command("restore")
@click.option(
    "--from",
    "archive",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="A backup made by the backup command (SQLite).",
)
@click.confirmation_option(prompt="Stop the portal first. Replace its database and files?")
@with_appcontext
def restore_command(archive: Path) -> None:
    """Put an SQLite backup back (the current data is kept aside as .before-restore)."""
    from .services.jobs.backup import BackupError, describe, restore_backup

    engine = db.engine
    if engine.dialect.name != "sqlite" or not engine.url.database:
        raise click.ClickException(
            "Only an SQLite database restores this way; for PostgreSQL use pg_restore (README)"
        )
    engine.dispose()  # no connection may hold the file we replace
    try:
        manifest = restore_backup(
            archive, Path(engine.url.database), Path(current_app.config["UPLOAD_FOLDER"])
        )
    except BackupError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Restored {describe(manifest)}")


@click.command("purge-closed")
@click.option("--years", type=click.IntRange(min=1), help="Retention in years (RETENTION_YEARS).")
@click.option("--dry-run", is_flag=True, help="List what would go; change nothing.")
@with_appcontext
def purge_closed_command(years: int | None, dry_run: bool) -> None:
    """Purge closed requests (and their files) older than the retention period."""
    from .services.jobs import retention

    years = years or int(current_app.config["RETENTION_YEARS"])
    found = retention.purgeable(db.session, years)
    for item in found:
        row = item.request
        click.echo(
            f"{row.reference}  {row.organisation.name}  {row.supplier.name}  {row.status}  "
            f"closed {item.closed_on:%d %b %Y}  {item.files} files"
        )
    if dry_run:
        click.echo(f"{len(found)} requests closed more than {years} years ago would be purged")
        return
    keys = retention.purge(db.session, found, years)
    db.session.commit()
    retention.remove_files(db.session, keys)  # only once the rows are gone for good
    db.session.commit()  # a store in the database (EVIDENCE_STORE=database) removes in SQL
    click.echo(f"Purged {len(found)} requests closed more than {years} years ago")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Bring the database to the newest schema, then load demo organisations, users
    and requests (idempotent; never in production)."""
    from .demo import seed_demo

    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("seed-demo refuses to run when PORTAL_ENV=production")
    upgrade_database()
    from .services.platform.mail import deliver_queued

    # A session of its own (no request: links are built on PORTAL_BASE_URL).
    with db.new_session() as session:
        summary = seed_demo(session)
        session.commit()
        deliver_queued(session)
        session.commit()
    click.echo(summary)


@click.command("send-emails")
@click.option(
    "--watch", is_flag=True, help="Keep running: the outbox worker (EMAIL_DELIVERY=worker)."
)
@click.option("--every", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="With --watch: seconds between looks at an empty outbox.")  # fmt: skip
@with_appcontext
def send_emails_command(watch: bool, every: float) -> None:
    """Send every email still waiting in the outbox (after a mail server failure);
    with --watch, send each email as it is queued until SIGTERM or Ctrl-C."""
    from .services.platform.mail import send_pending

    if watch:
        _watch_outbox(every)
        return
    done = send_pending(db.session)
    db.session.commit()
    click.echo(f"{done.sent} sent, {done.waiting} still waiting")
    for email in done.refused:
        click.echo(f"Email {email.id} to {email.to_address} failed for good: {email.error}")
    if done.waiting or done.refused:
        sys.exit(1)


def _watch_outbox(every: float) -> None:
    import signal
    import threading

    from .services.platform.mail import Delivery, watch_outbox

    stop = threading.Event()
    # Stop between two rounds: an email being sent is sent and recorded first.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())

    def report(done: Delivery) -> None:
        click.echo(f"{done.sent} sent, {done.waiting} to try again later")
        for email in done.refused:
            click.echo(f"Email {email.id} to {email.to_address} failed for good: {email.error}")

    click.echo(f"Watching the outbox every {every:g} s (SIGTERM or Ctrl-C stops)")
    with db.new_session() as session:
        watch_outbox(session, stop, every, report)
    click.echo("Stopped")


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Remind contacts of open requests due soon or overdue (never twice a day),
    schools of supplier and standards reviews falling due (once per item per
    due date), ask suppliers for evidence that runs out within 30 days or has
    run out (once per expiry, never twice a day), and re-rate adopted
    directory entries whose evidence has run out."""
    from .models import utcnow
    from .services.directory.adoption import rerate_past_expiry
    from .services.jobs.evidence_renewals import send_renewals
    from .services.jobs.reminders import send_reminders
    from .services.jobs.review_reminders import send_review_reminders
    from .services.platform.mail import deliver_queued

    with db.new_session() as session:
        sent = send_reminders(session)
        reviews = send_review_reminders(session)
        renewed = send_renewals(session)
        # Adopted entries whose evidence ran out: their kept rating follows (issue 26).
        rerated = rerate_past_expiry(session, utcnow().date())
        session.commit()
        deliver_queued(session)
        session.commit()
        for reminder in sent:
            click.echo(
                f"{reminder.request.reference}: {reminder.kind.replace('_', ' ')} ({reminder.request.contact_email})"
            )
        click.echo(f"{len(sent)} reminder(s) sent")
        for review in reviews:
            click.echo(
                f"{review.organisation.name}: {len(review.items)} review(s) due ({', '.join(review.to)})"
            )
        click.echo(f"{len(reviews)} school(s) reminded of reviews")
        for ask in renewed:
            click.echo(
                f"{ask.request.reference}: renewed evidence asked for ({', '.join(ask.questions)})"
            )
        click.echo(f"{len(renewed)} supplier(s) asked for renewed evidence")
        if rerated:
            click.echo(
                f"{rerated} adopted directory entr{'y' if rerated == 1 else 'ies'} re-rated: evidence expired"
            )


@click.command("export-register")
@click.option("--org", "org_id", type=int, required=True, help="The organisation's id.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="The file to write: .xlsx, or .csv for CSV.",
)
@click.option("--answer", "answers", multiple=True, help="A question id to add as a column.")
@with_appcontext
def export_register_command(org_id: int, out: str, answers: tuple[str, ...]) -> None:
    """Write an organisation's supplier register (every request) to a workbook or CSV."""
    from .exports.register import register_csv, register_workbook
    from .services.downloads import contents as exports

    organisation = db.session.get(Organisation, org_id)
    if organisation is None:
        raise click.UsageError(f"There is no organisation with id {org_id}")
    keys = list(answers)
    rows = exports.register_rows(db.session, organisation, keys)
    columns = exports.register_columns(db.session, keys)
    started = time.perf_counter()
    # The bar shows on a terminal only; in a pipe or a log it stays quiet.
    with click.progressbar(
        length=exports.register_count(db.session, organisation),
        label="Writing the register",
        file=sys.stderr,
    ) as bar:
        if out.lower().endswith(".csv"):
            with open(out, "w", encoding="utf-8-sig", newline="") as handle:
                count = register_csv(handle, _counted(rows, bar.update), columns)
        else:
            count = register_workbook(
                out, rows, columns, f"Supplier register: {organisation.name}", bar.update
            )
    exports.record_download(
        db.session, None, organisation, "register", out.rsplit(".", 1)[-1],
        actor_label="Command line",
    )  # fmt: skip
    db.session.commit()
    click.echo(f"{count} rows written to {out} in {time.perf_counter() - started:.1f} s")


@click.command("export-directory")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="The .xlsx to write.",
)
@click.option(
    "--all", "every_state", is_flag=True, help="Drafts, withdrawn and replaced entries too."
)
@with_appcontext
def export_directory_command(out: str, every_state: bool) -> None:
    """Write the directory's entries to a workbook (published ones unless --all)."""
    from .exports.directory import directory_workbook
    from .models import EntryStatus
    from .services.downloads import directory as directory_export

    statuses: set[str] = set(EntryStatus) if every_state else {EntryStatus.PUBLISHED}
    started = time.perf_counter()
    with click.progressbar(
        length=directory_export.export_count(db.session, statuses),
        label="Writing the directory",
        file=sys.stderr,
    ) as bar:
        count = directory_workbook(
            out, directory_export.export_blocks(db.session, statuses), bar.update
        )
    click.echo(f"{count} entries written to {out} in {time.perf_counter() - started:.1f} s")


def _organisation_called(name_or_id: str) -> Organisation:
    """The organisation with this name or id; a usage error naming what is wrong."""
    from sqlalchemy import select

    found = db.session.scalars(
        select(Organisation).where(
            (Organisation.id == int(name_or_id)) if name_or_id.isdecimal()
            else (Organisation.name == name_or_id)
        )
    ).all()  # fmt: skip
    if len(found) != 1:
        raise click.UsageError(
            f"No organisation is called {name_or_id!r}" if not found
            else f"{len(found)} organisations are called {name_or_id!r}: give its id"
        )  # fmt: skip
    return found[0]


@click.command("set-trust")
@click.option("--org", "school", required=True, help="The school's name or id.")
@click.option("--trust", help="The trust's name or id; leave out with --none.")
@click.option("--none", "leaves", is_flag=True, help="The school leaves its trust.")
@with_appcontext
def set_trust_command(school: str, trust: str | None, leaves: bool) -> None:
    """A school joins a trust, moves to another, or leaves its trust (--none).
    The trust it leaves can read nothing more of it from the next request on."""
    if bool(trust) == leaves:
        raise click.UsageError("Give --trust NAME or --none")
    found = _organisation_called(school)
    try:
        accounts.set_trust(db.session, found, _organisation_called(trust) if trust else None)
    except ServiceError as exc:
        raise click.UsageError(exc.message) from None
    db.session.commit()
    click.echo(
        f"{found.name} is now in {found.trust.name}" if found.trust
        else f"{found.name} is in no trust now"
    )  # fmt: skip


@click.command("governors-pack")
@click.option("--org", "organisation", required=True, help="The school's name or id.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The PDF to write.")  # fmt: skip
@with_appcontext
def governors_pack_command(organisation: str, out: str) -> None:
    """Write a school's governors' pack: standards, owners, supplier reviews, DPIAs, evidence."""

    from .exports.governors_pack import governors_pack_pdf
    from .services.downloads import contents as exports
    from .services.downloads import governors_pack as pack

    school = _organisation_called(organisation)
    with open(out, "wb") as handle:
        handle.write(governors_pack_pdf(pack.governors_pack(db.session, school)))
    exports.record_download(
        db.session, None, school, "governors_pack", "pdf", actor_label="Command line"
    )
    db.session.commit()
    click.echo(f"The governors' pack of {school.name} written to {out}")


@click.command("export-request")
@click.option("--ref", "reference", required=True, help="The request's reference, like DD-7K2M9Q.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="The file to write: .xlsx, .csv, .json or .pdf (the report to read).",
)
@with_appcontext
def export_request_command(reference: str, out: str) -> None:
    """Write one request with its answers and findings to a workbook, CSV, JSON or PDF."""
    import json

    from sqlalchemy import select

    from .models import Request
    from .services.downloads import contents as exports
    from .services.requirements import ratings
    from .views.api.schemas import request_download

    row = db.session.scalar(select(Request).where(Request.reference == reference.upper()))
    if row is None:
        raise click.UsageError(f"There is no request {reference}")
    file_format = out.rsplit(".", 1)[-1].lower()
    if file_format == "json":
        with open(out, "w", encoding="utf-8") as handle:
            comparison = ratings.comparison_for(db.session, row)
            json.dump(request_download(row, comparison), handle, indent=2)
    elif file_format == "csv":
        with open(out, "w", encoding="utf-8-sig", newline="") as handle:
            handle.write(exports.request_csv(db.session, row))
    elif file_format == "pdf":
        from .exports.request_report import request_pdf
        from .services.downloads import reports

        with open(out, "wb") as handle:
            handle.write(request_pdf(reports.request_report(db.session, row)))
    elif file_format == "xlsx":
        with open(out, "wb") as binary:
            binary.write(exports.request_xlsx(db.session, row))
    else:
        raise click.UsageError("Name the file .xlsx, .csv, .json or .pdf")
    exports.record_download(
        db.session, None, row.organisation, "request", file_format, row, actor_label="Command line"
    )
    db.session.commit()
    click.echo(f"{row.reference} written to {out}")


def _counted(rows: Iterable[T], step: Callable[[int], object]) -> Iterator[T]:
    for row in rows:
        step(1)
        yield row


def init_app(app: Flask) -> None:
    for group in (db_cli, questionnaires_cli):
        app.cli.add_command(group)
    for cmd in (
        create_org,
        create_user,
        create_api_key_command,
        reset_authenticator_command,
        backup_command,
        purge_closed_command,
        restore_command,
        seed_demo_command,
        send_emails_command,
        send_reminders_command,
        export_register_command,
        export_request_command,
        governors_pack_command,
        set_trust_command,
        export_directory_command,
    ):
        app.cli.add_command(cmd)
