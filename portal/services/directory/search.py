"""Schools reading the directory: published entries found by what they
type and choose, and an entry's answers against the school's own requirements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    false,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session, defer, joinedload
from sqlalchemy.sql import column, table

from ...models import (
    DirectoryEntry,
    EntryStatus,
    Organisation,
    QuestionnaireVersion,
    utcnow,
)
from ...models.directory import DIRECTORY_SEARCH
from ...questionnaire.compare import Comparison
from ..platform.paging import PAGE_SIZE, Page, count, page_of
from ..requirements import ratings
from . import entry_evidence


@dataclass(frozen=True)
class Search:
    text: str = ""
    category: str = ""
    rating: str = ""
    questionnaire: str = ""
    freshness: str = ""  # "", "current" or "overdue"


# A word is a run of letters and digits; everything else typed (quotes, *, ^,
# parentheses, NEAR(...), a colon) only separates words, so nothing a user
# types reaches either engine as query syntax.
WORD = re.compile(r"[^\W_]+")
MAX_TEXT = 300  # characters of the box read
MAX_WORDS = 12  # each word is one more term for the engine to intersect

Piece = tuple[str, bool]  # a run of text, and whether it is a matched word


@dataclass(frozen=True)
class Found:
    """A result as a list shows it: the entry, and its product, supplier and
    a short excerpt of its summary with the matched words marked."""

    entry: DirectoryEntry
    product: list[Piece]
    supplier: list[Piece]
    summary: list[Piece]
    # The day its evidence first ran out, if any has (issue 26).
    evidence_expired_on: date | None = None


def words_of(text: str) -> list[str]:
    """The words searched for, lower case, first occurrence of each."""
    found: list[str] = []
    for word in WORD.findall(text[:MAX_TEXT].lower()):
        if word not in found:
            found.append(word)
    return found[:MAX_WORDS]


# A word is searched for without these endings, as the start of a word:
# "schools" finds "school", "managing" finds "management", "micro" finds
# "Microsoft". The same rule marks the words found, on both engines.
_ENDINGS = ("ing", "ed", "es", "s")


def stem_of(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


class _Engine(Protocol):
    # Product names in any case, the way this database's index of them
    # (ix_directory_entry_published_product) holds them.
    by_name: ColumnElement[Any]

    def matching(self, query: Select[Any], words: list[str], ranked: bool) -> Select[Any]:
        """``query`` cut to entries holding every word (as a word's start),
        ordered best match first if ``ranked`` (a count needs no scores)."""


class _Fts5:
    """SQLite: the FTS5 table ``directory_search`` (rowid = entry id)."""

    index = table(DIRECTORY_SEARCH, column("rowid", Integer))
    whole: ColumnClause[Any] = literal_column(DIRECTORY_SEARCH)
    # NOCASE folds ASCII letters as SQLite's lower() does, and an index can hold it.
    by_name: ColumnElement[Any] = DirectoryEntry.product.collate("NOCASE")
    # bm25 weights for product, supplier, summary: PostgreSQL's A, B, C (1.0, 0.4, 0.2).
    weights = (10.0, 4.0, 2.0)

    def matching(self, query: Select[Any], words: list[str], ranked: bool) -> Select[Any]:
        # Each word quoted (a word holds no quote) and a prefix: "micro"* finds Microsoft.
        expression = " ".join(f'"{word}"*' for word in words)
        matches = self.whole.op("MATCH")(expression)
        if not ranked:
            # Scoring is most of the work (10 of 16 ms to count 5,000 matches).
            return query.where(DirectoryEntry.id.in_(select(self.index.c.rowid).where(matches)))
        # The matches, scored once, before any join: joined directly, SQLite
        # may walk an index of entries and run the full-text query once per
        # entry (1.2 s for a word in each of 5,000, against 13 ms).
        hits = (
            select(
                self.index.c.rowid.label("entry_id"),
                func.bm25(self.whole, *self.weights).label("score"),  # lower is better
            )
            .where(matches)
            .cte("hits")
            .prefix_with("MATERIALIZED")
        )
        return query.join(hits, hits.c.entry_id == DirectoryEntry.id).order_by(hits.c.score)


class _Tsvector:
    """PostgreSQL: ``directory_search`` holds a weighted tsvector per
    published entry, under a GIN index."""

    index = table(DIRECTORY_SEARCH, column("entry_id", Integer), column("document"))
    by_name: ColumnElement[Any] = func.lower(DirectoryEntry.product)

    def _query(self, words: list[str]) -> ColumnElement[Any]:
        # Every word's stem as a prefix ('school':* & 'micro':*), against words
        # kept whole ('simple': no stop words, so "IT" is found). A word holds
        # letters and digits only, so quoted it is never tsquery syntax. Bound
        # as a tsquery, not built by to_tsquery(): a constant the planner can
        # weigh against the index, and nothing computed once a row.
        terms = " & ".join(f"'{stem_of(word)}':*" for word in words)
        return bindparam("words", terms, type_=TSQUERY)

    def matching(self, query: Select[Any], words: list[str], ranked: bool) -> Select[Any]:
        # Unranked or not, the rank is only in ORDER BY, which a count drops.
        document = self.index.c.document
        tsquery = self._query(words)
        return (
            query.join(self.index, self.index.c.entry_id == DirectoryEntry.id)
            .where(document.op("@@")(tsquery))
            .order_by(func.ts_rank(document, tsquery).desc())
        )


def _engine(session: Session) -> _Engine:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _Tsvector()
    if dialect == "sqlite":
        return _Fts5()
    raise NotImplementedError(f"no directory search for {dialect}")


def _ids(
    session: Session, criteria: Search, today: date | None, ranked: bool = True
) -> Select[Any]:
    """The ids of published entries matching every criterion: the words
    ranked, then by product name (every entry, when no words are given).
    Ids only: the engine sorts every match, and a narrow row sorts fast."""
    now = today or utcnow().date()
    query = select(DirectoryEntry.id).where(DirectoryEntry.status == EntryStatus.PUBLISHED)
    if criteria.category:
        query = query.where(DirectoryEntry.category == criteria.category)
    if criteria.rating:
        query = query.where(DirectoryEntry.rating == criteria.rating)
    if criteria.questionnaire:
        query = query.join(DirectoryEntry.questionnaire_version).where(
            QuestionnaireVersion.key == criteria.questionnaire
        )
    if criteria.freshness == "current":
        query = query.where(DirectoryEntry.review_due >= now)
    elif criteria.freshness == "overdue":
        query = query.where(DirectoryEntry.review_due < now)
    engine = _engine(session)
    words = words_of(criteria.text)
    if words:
        query = engine.matching(query, words, ranked)
    elif criteria.text.strip():
        # Typed, but nothing to search for ("%", "***"): nothing matches, as a
        # search for those characters in the text never did.
        query = query.where(false())
    return query.order_by(engine.by_name, DirectoryEntry.id)


def _entries(session: Session, ids: list[int]) -> list[DirectoryEntry]:
    """The entries with these ids, in this order, with what a list shows.
    A list never shows the answers: they stay unread (and raise if a list
    ever reads them, rather than load once per row)."""
    if not ids:
        return []
    rows = session.scalars(
        select(DirectoryEntry)
        .where(DirectoryEntry.id.in_(ids))
        .options(
            joinedload(DirectoryEntry.supplier),
            joinedload(DirectoryEntry.questionnaire_version),
            defer(DirectoryEntry.answers, raiseload=True),
            defer(DirectoryEntry.changes, raiseload=True),
        )
    )
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def search_page(
    session: Session,
    criteria: Search,
    number: int = 1,
    size: int = PAGE_SIZE,
    today: date | None = None,
) -> Page[Found]:
    """Page ``number`` of the published entries matching ``criteria``, best
    first, with the words marked: a count and a window of ids (one statement
    when words are searched for), then its entries, whatever the total."""
    words = words_of(criteria.text)
    if words:
        ids = _ranked_page(session, criteria, number, size, today)
    else:
        ids = page_of(session, _ids(session, criteria, today), number, size)
    now = today or utcnow().date()
    return ids.map([found(entry, words, now) for entry in _entries(session, ids.items)])


def _ranked_page(
    session: Session, criteria: Search, number: int, size: int, today: date | None
) -> Page[int]:
    """A window of the ranked ids, counted by the statement that ranks them
    (``count(*) OVER ()``, taken before the LIMIT): the engine has found and
    scored every match to order them anyway. Counted apart, the full-text
    query ran twice, 7 of a page's 40 ms for two common words at 5,000
    entries. Only a page past the end (an address kept from a longer list)
    is counted apart, to show the last page instead."""
    query = _ids(session, criteria, today).add_columns(func.count().over().label("total"))

    def window(at: int) -> list[Any]:
        return list(session.execute(query.limit(size).offset((at - 1) * size)))

    rows = window(number)
    if not rows and number > 1:
        total = count(session, _ids(session, criteria, today, ranked=False))
        number = max(1, -(-total // size))
        rows = window(number) if total else []
    total = rows[0].total if rows else 0
    return Page([row.id for row in rows], total, number if rows else 1, size)


def search_window(
    session: Session, criteria: Search, offset: int, limit: int, today: date | None = None
) -> list[DirectoryEntry]:
    """``limit`` matching entries from ``offset`` in the same order (the API's pages)."""
    ids = list(session.scalars(_ids(session, criteria, today).limit(limit).offset(offset)))
    return _entries(session, ids)


# --- marking the words -----------------------------------------------------------------

EXCERPT = 160  # characters of a summary shown in a list
_LEAD = 40  # of them, before the first match


def highlight(text: str, words: list[str]) -> list[Piece]:
    """``text`` in pieces, each word that starts with a searched word marked.
    Pieces are plain text: the template escapes every one, marked or not."""
    stems = [stem_of(word) for word in words]
    pieces: list[Piece] = []
    at = 0
    for match in WORD.finditer(text) if stems else ():
        if match.group().lower().startswith(tuple(stems)):
            if match.start() > at:
                pieces.append((text[at : match.start()], False))
            pieces.append((match.group(), True))
            at = match.end()
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def excerpt(text: str, words: list[str]) -> list[Piece]:
    """About EXCERPT characters of ``text`` around its first matched word
    (its opening when none matches), marked."""
    text = " ".join(text.split())
    if len(text) <= EXCERPT:
        return highlight(text, words)
    stems = tuple(stem_of(word) for word in words)
    matches = WORD.finditer(text) if stems else iter(())
    first = next((m.start() for m in matches if m.group().lower().startswith(stems)), 0)
    start = max(0, min(first - _LEAD, len(text) - EXCERPT))
    if start:
        start = text.find(" ", start) + 1 or start  # a whole first word
    end = start + EXCERPT
    if end < len(text):
        end = text.rfind(" ", start, end) if " " in text[start:end] else end
    pieces = highlight(text[start:end].strip(), words)
    if start:
        pieces.insert(0, ("… ", False))
    if end < len(text):
        pieces.append((" …", False))
    return pieces


def found(entry: DirectoryEntry, words: list[str], today: date | None = None) -> Found:
    return Found(
        entry,
        highlight(entry.product, words),
        highlight(entry.supplier.name, words),
        excerpt(entry.summary, words),
        entry_evidence.expired_on(entry, today or utcnow().date()),
    )


def comparison_for_school(
    session: Session, entry: DirectoryEntry, organisation: Organisation, today: date | None = None
) -> Comparison:
    """The entry's answers against this school's own requirements, its
    expired evidence counted as missing."""
    return ratings.comparison_for_entry(session, entry, organisation, today)
