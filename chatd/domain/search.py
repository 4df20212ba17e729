"""Searching messages (GET /chat/search): the query's rules, keyset cursors and snippets.

PostgreSQL does the searching (sql/search.sql, migration 0018): a stored tsvector per message
kept by a trigger, a GIN index of live messages, websearch_to_tsquery for the web-search syntax
people type (words, "quoted phrases", OR, -excluded), and the read permission inside the same
query, so what the caller may no longer read is never found.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

import asyncpg
import msgspec

from chatd import keys
from chatd.config import ConfigError
from chatd.domain import permissions
from chatd.domain.errors import BadInput
from chatd.domain.reactions import reaction_summary
from chatd.domain.schemas import SearchHit, SearchPage, User
from chatd.domain.views import message_view

log = logging.getLogger(__name__)

MAX_QUERY = 500
MAX_RESULTS = 50
HAS = ("link", "attachment", "mention")
SORTS = ("recent", "relevance")
# ts_headline marks each match between these (private-use characters, removed from the text
# first) in the escaped text (sql/search.sql): they become <mark> and </mark>.
_START, _STOP = "\ue000", "\ue001"


@dataclass(frozen=True)
class Search:
    q: str
    server_id: UUID | None = None
    channel_id: UUID | None = None
    dm_id: UUID | None = None
    author_id: UUID | None = None
    has: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    sort: str = "recent"
    limit: int = 25
    cursor: str | None = None


class _Cursor(msgspec.Struct, array_like=True):
    """Where a page ended: its last result's rank (0 by time), time and id."""

    rank: float
    created_at: datetime
    id: UUID


def check_search(search: Search) -> None:
    """What a search may ask, before anything is read."""
    if not search.q.strip():
        raise BadInput("q must not be empty")
    if len(search.q) > MAX_QUERY:
        raise BadInput(f"q must be at most {MAX_QUERY} characters")
    if "\x00" in search.q:  # PostgreSQL text cannot hold it: no message has one
        raise BadInput("q must not contain NUL characters")
    if search.channel_id is not None and search.dm_id is not None:
        raise BadInput("give channel_id or dm_id, not both")
    if search.has is not None and search.has not in HAS:
        raise BadInput(f"has must be one of: {', '.join(HAS)}")
    if search.sort not in SORTS:
        raise BadInput(f"sort must be one of: {', '.join(SORTS)}")


async def search_messages(app: Mapping, user: User, search: Search) -> SearchPage:
    check_search(search)
    cursor = _decode_cursor(search.cursor)
    await permissions.require_search_filters(app, user, search.server_id, search.channel_id, search.dm_id)
    rows = app[keys.queries].search_messages(
        app[keys.pool], user_id=user.user_id, q=search.q, language=app[keys.config].search_language,
        server_id=search.server_id,
        channel_id=search.channel_id or search.dm_id, author_id=search.author_id, has_link=search.has == "link",
        has_attachment=search.has == "attachment", has_mention=search.has == "mention",
        after=search.after, before=search.before, by_relevance=search.sort == "relevance",
        cursor_rank=cursor.rank if cursor else None, cursor_created_at=cursor.created_at if cursor else None,
        cursor_id=cursor.id if cursor else None, lim=search.limit + 1)
    page = [row async for row in rows]
    more = len(page) > search.limit
    page = page[:search.limit]
    hits = [SearchHit(**msgspec.structs.asdict(message_view(row, row["username"], reaction_summary(row["reactions"]),
                                                                     app[keys.attachment_urls])),
                      snippet=snippet_html(row["snippet"])) for row in page]
    if not more:
        return SearchPage(hits, None)
    last = page[-1]
    return SearchPage(hits, _encode_cursor(_Cursor(last["rank"], last["created_at"], last["id"])))


def snippet_html(headline: str) -> str:
    """ts_headline's escaped text with its marked matches in <mark>."""
    return headline.replace(_START, "<mark>").replace(_STOP, "</mark>")


def _encode_cursor(cursor: _Cursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def _decode_cursor(raw: str | None) -> _Cursor | None:
    if not raw:
        return None
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), type=_Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadInput("cursor is not one a search returned") from None


def parse_time(raw: str | None, name: str) -> datetime | None:
    """An ISO 8601 time; without an offset it is UTC."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadInput(f"{name} must be an ISO 8601 time, like 2026-12-01T09:30:00Z") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


async def search_ctx(app) -> AsyncIterator[None]:
    """cleanup_ctx (after the pool): the database indexes messages in CHATD_SEARCH_LANGUAGE; when
    it changed, every message is indexed again, once, by the first process to see it."""
    queries, pool, language = app[keys.queries], app[keys.pool], app[keys.config].search_language
    try:
        changed = await queries.set_search_language(pool, language=language)
    except asyncpg.UndefinedObjectError as error:  # no text search configuration of that name
        raise ConfigError(f"CHATD_SEARCH_LANGUAGE={language!r}: {error}") from None
    if changed:
        log.warning("event=search_reindex language=%s", language)
        count = await queries.reindex_search(pool)
        log.info("event=search_reindexed language=%s messages=%d", language, count)
    yield
