"""Channels of a server."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import NotFound
from chatd.domain.inputs import stripped
from chatd.domain.schemas import Channel
from chatd.domain.views import channel_view


async def create_channel(app: Mapping, server_id: UUID, name: str, type_: str, position: int | None) -> Channel:
    """Members' sockets hear channel_created on commit. The name is stored stripped.

    Creations in one server take turns on the server row (lock_server_channels), so each
    one without a position goes after the last one committed, and a server deleted since
    the caller's permission check is a 404, not a foreign-key violation."""
    name = stripped(name, "name")
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        if await queries.lock_server_channels(con, server_id=server_id) is None:
            raise NotFound(permissions.SERVER_NOT_FOUND)
        row = await app[keys.notes].emit(
            queries.create_channel, con,
            server_id=server_id, name=name, type=type_.upper(), position=position,
        )
    return channel_view(row)
