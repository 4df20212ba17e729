"""Who is connecting: the user of each WebSocket connect, the servers and conversations they are
in, the channels with something unread, and whether the token was revoked.

Connects that arrive together (a reconnect storm after a restart, a deploy) share one query
through chatd.store.batching: one pool checkout and one round trip for many handshakes, which is
what a connect cost most under load (half its CPU, measured with the bench).
"""

from __future__ import annotations

from typing import NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from chatd.store.batching import Batcher
from chatd.domain.errors import Unauthorized
from chatd.domain.dms import dm_views
from chatd.domain.schemas import DirectMessage, Server, User
from chatd.domain.tokens import TOKEN_REVOKED, Claims
from chatd.domain.views import server_view

# The unreads are `connected`'s JSON as the query builds it, written into the frame as they are.
NO_UNREADS = msgspec.Raw(b"[]")


class Found(NamedTuple):
    user: User
    servers: list[Server]
    dms: list[DirectMessage]
    unreads: msgspec.Raw
    status: str  # what the user set
    presences: str | None  # JSON {user id: status} of those sharing a server or conversation, not offline
    notification_settings: str | None  # JSON {id: {level, muted_until}} (chatd.gateway.notifier)


class ConnectLookup:
    def __init__(self, pool: asyncpg.Pool, queries):
        self._pool, self._queries = pool, queries
        self._batcher: Batcher[Claims, Found | None] = Batcher(self._look_up)

    async def user_and_servers(self, token: Claims) -> Found | None:
        """None when the user no longer exists; Unauthorized when the token was revoked."""
        return await self._batcher.submit(token)

    async def drain(self) -> None:
        await self._batcher.drain()

    async def _look_up(self, tokens: list[Claims]) -> list[Found | None | Exception]:
        found: dict[UUID, Found] = {}
        revocations = {}  # user id -> (tokens_valid_after, the revoked ids among the tokens')
        rows = self._queries.get_users_with_servers(
            self._pool, user_ids=list({t.user_id for t in tokens}), jtis=list({t.jti for t in tokens if t.jti}))
        async for row in rows:
            entry = found.get(row["user_id"])
            if entry is None:
                unreads = NO_UNREADS if row["unreads"] is None else msgspec.Raw(row["unreads"].encode())
                entry = found[row["user_id"]] = Found(User(user_id=row["user_id"], username=row["username"]), [],
                                                      dm_views(row["dms"]), unreads, row["own_status"],
                                                      row["presences"], row["notification_settings"])
                revocations[row["user_id"]] = (row["tokens_valid_after"], row["revoked_jtis"] or ())
            if row["id"] is not None:
                entry.servers.append(server_view(row))
        results: list[Found | None | Exception] = []
        for token in tokens:
            if token.user_id not in found:
                results.append(None)
                continue
            valid_after, revoked_jtis = revocations[token.user_id]
            if token.revoked(valid_after, token.jti in revoked_jtis):
                results.append(Unauthorized(TOKEN_REVOKED))
            else:
                entry = found[token.user_id]
                results.append(entry._replace(servers=list(entry.servers), dms=list(entry.dms)))
        return results
