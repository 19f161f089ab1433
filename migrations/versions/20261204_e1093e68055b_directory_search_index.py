"""directory search index

A full-text index of the published directory (issue 23): product, supplier
name and summary, weighted in that order. PostgreSQL keeps a tsvector per
published entry in ``directory_search`` with a GIN index; SQLite keeps an
FTS5 table of the same name (rowid = the entry's id). Triggers keep either in
step with every writer (curation, a supplier renamed, a bulk load): an entry
is in the index exactly while it is published, under its supplier's current
name. Neither table is in the models: they are the database's own.

On SQLite, a later revision that recreates ``supplier`` or
``directory_entry`` in batch mode must drop these triggers first and create
them again after (SQLite refuses to rename a table while a trigger names a
table that is missing mid-batch).

Revision ID: e1093e68055b
Revises: b7d2f4a6c8e0
Create Date: 2026-12-04 09:50:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "e1093e68055b"
down_revision = "b7d2f4a6c8e0"
branch_labels = None
depends_on = None

# The weights: product A, supplier B, summary C (ts_rank's 1.0, 0.4, 0.2).
# The 'simple' configuration keeps every word: "IT" and "The" are English stop
# words, yet "IT support" and "The Key" are names schools type. The search looks
# for each word's stem as a prefix instead ("schools" finds "school"). <, > and & become
# spaces first: PostgreSQL's parser would take "<b>" or "&amp;" as markup and
# drop it, and what a supplier typed is words to find, markup or not.
PG_UP = [
    """
    CREATE TABLE directory_search (
        entry_id INTEGER NOT NULL,
        document TSVECTOR NOT NULL,
        CONSTRAINT pk_directory_search PRIMARY KEY (entry_id),
        CONSTRAINT fk_directory_search_entry_id_directory_entry FOREIGN KEY (entry_id)
            REFERENCES directory_entry (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX ix_directory_search_document ON directory_search USING gin (document)",
    """
    CREATE OR REPLACE FUNCTION directory_search_document(product text, supplier text, summary text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
        SELECT setweight(to_tsvector('simple', translate(coalesce(product, ''), '<>&', '   ')), 'A')
            || setweight(to_tsvector('simple', translate(coalesce(supplier, ''), '<>&', '   ')), 'B')
            || setweight(to_tsvector('simple', translate(coalesce(summary, ''), '<>&', '   ')), 'C')
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION directory_search_entry_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM directory_search WHERE entry_id = OLD.id;
        END IF;
        IF NEW.status = 'published' THEN
            INSERT INTO directory_search (entry_id, document)
            SELECT NEW.id, directory_search_document(NEW.product, s.name, NEW.summary)
            FROM supplier s WHERE s.id = NEW.supplier_id;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION directory_search_supplier_renamed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE directory_search d
        SET document = directory_search_document(e.product, NEW.name, e.summary)
        FROM directory_entry e
        WHERE e.id = d.entry_id AND e.supplier_id = NEW.id;
        RETURN NULL;
    END
    $$
    """,
    # Deleting an entry needs no trigger: the foreign key cascades.
    """
    CREATE TRIGGER directory_search_entry_changed
    AFTER INSERT OR UPDATE OF status, product, summary, supplier_id ON directory_entry
    FOR EACH ROW EXECUTE FUNCTION directory_search_entry_changed()
    """,
    """
    CREATE TRIGGER directory_search_supplier_renamed
    AFTER UPDATE OF name ON supplier
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION directory_search_supplier_renamed()
    """,
    """
    INSERT INTO directory_search (entry_id, document)
    SELECT e.id, directory_search_document(e.product, s.name, e.summary)
    FROM directory_entry e JOIN supplier s ON s.id = e.supplier_id
    WHERE e.status = 'published'
    """,
    # The list with no words, by product name in any case: a page walks the
    # index instead of sorting every entry; status first, so it counts them too.
    """
    CREATE INDEX ix_directory_entry_published_product
    ON directory_entry (status, lower(product), id)
    """,
]

PG_DOWN = [
    "DROP INDEX IF EXISTS ix_directory_entry_published_product",
    "DROP TRIGGER IF EXISTS directory_search_supplier_renamed ON supplier",
    "DROP TRIGGER IF EXISTS directory_search_entry_changed ON directory_entry",
    "DROP TABLE IF EXISTS directory_search",
    "DROP FUNCTION IF EXISTS directory_search_supplier_renamed()",
    "DROP FUNCTION IF EXISTS directory_search_entry_changed()",
    "DROP FUNCTION IF EXISTS directory_search_document(text, text, text)",
]

# porter: "schools" finds "school", as PostgreSQL's english configuration does;
# remove_diacritics: "cafe" finds "café".
SQLITE_UP = [
    """
    CREATE VIRTUAL TABLE directory_search USING fts5(
        product, supplier, summary, tokenize = 'porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER directory_search_entry_added AFTER INSERT ON directory_entry
    WHEN new.status = 'published'
    BEGIN
        INSERT INTO directory_search (rowid, product, supplier, summary)
        SELECT new.id, new.product, s.name, new.summary FROM supplier s WHERE s.id = new.supplier_id;
    END
    """,
    """
    CREATE TRIGGER directory_search_entry_changed
    AFTER UPDATE OF status, product, summary, supplier_id ON directory_entry
    BEGIN
        DELETE FROM directory_search WHERE rowid = old.id;
        INSERT INTO directory_search (rowid, product, supplier, summary)
        SELECT new.id, new.product, s.name, new.summary FROM supplier s
        WHERE s.id = new.supplier_id AND new.status = 'published';
    END
    """,
    """
    CREATE TRIGGER directory_search_entry_deleted AFTER DELETE ON directory_entry
    BEGIN
        DELETE FROM directory_search WHERE rowid = old.id;
    END
    """,
    """
    CREATE TRIGGER directory_search_supplier_renamed AFTER UPDATE OF name ON supplier
    WHEN old.name IS NOT new.name
    BEGIN
        UPDATE directory_search SET supplier = new.name
        WHERE rowid IN (
            SELECT id FROM directory_entry WHERE supplier_id = new.id AND status = 'published'
        );
    END
    """,
    """
    INSERT INTO directory_search (rowid, product, supplier, summary)
    SELECT e.id, e.product, s.name, e.summary
    FROM directory_entry e JOIN supplier s ON s.id = e.supplier_id
    WHERE e.status = 'published'
    """,
    # As PostgreSQL's, with NOCASE for lower(): SQLite's lower() folds ASCII
    # only, as NOCASE does, and a collated column is an index SQLite reflects.
    """
    CREATE INDEX ix_directory_entry_published_product
    ON directory_entry (status, product COLLATE NOCASE, id)
    """,
]

SQLITE_DOWN = [
    "DROP INDEX IF EXISTS ix_directory_entry_published_product",
    "DROP TRIGGER IF EXISTS directory_search_supplier_renamed",
    "DROP TRIGGER IF EXISTS directory_search_entry_deleted",
    "DROP TRIGGER IF EXISTS directory_search_entry_changed",
    "DROP TRIGGER IF EXISTS directory_search_entry_added",
    "DROP TABLE IF EXISTS directory_search",
]


def _run(postgresql: list[str], sqlite: list[str]) -> None:
    dialect = op.get_bind().dialect.name
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"no directory search index for {dialect}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(PG_UP, SQLITE_UP)


def downgrade() -> None:
    _run(PG_DOWN, SQLITE_DOWN)
