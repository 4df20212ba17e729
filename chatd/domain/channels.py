"""Channels of a server."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import msgspec

from chatd import keys
from chatd.domain import permissions
from chatd.domain.attachments import files_deleted_after
from chatd.domain.errors import BadInput, NotFound
from chatd.domain.inputs import stripped
from chatd.domain.schemas import Channel, ChannelChange
from chatd.domain.views import channel_view


async def create_channel(app: Mapping, server_id: UUID, name: str, type_: str, position: int | None,
                         category_id: UUID | None = None) -> Channel:
    """Members' sockets hear channel_created on commit. The name is stored stripped.

    Creations in one server take turns on the server row (lock_server_channels), so each
    one without a position goes after the last one committed in its category, and a server
    deleted since the caller's permission check is a 404, not a foreign-key violation."""
    name = stripped(name, "name")
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        if await queries.lock_server_channels(con, server_id=server_id) is None:
            raise NotFound(permissions.SERVER_NOT_FOUND)
        if category_id is not None and await queries.get_category_of_server(
                con, server_id=server_id, category_id=category_id) is None:
            raise BadInput("category_id is not a category of this server")
        row = await app[keys.notes].emit(
            queries.create_channel, con,
            server_id=server_id, name=name, type=type_.upper(), position=position, category_id=category_id,
        )
    return channel_view(row)


async def update_channel(app: Mapping, server_id: UUID, channel_id: UUID, change: ChannelChange) -> Channel:
    """A rename and/or a topic (blank or null: none); members hear channel_updated on commit."""
    if change.name is msgspec.UNSET and change.topic is msgspec.UNSET:
        raise BadInput("give a name, a topic or both")
    name = None if change.name is msgspec.UNSET else stripped(change.name, "name")
    topic = None if change.topic is msgspec.UNSET or change.topic is None else change.topic.strip() or None
    row = await app[keys.notes].emit(
        app[keys.queries].update_channel, app[keys.pool], server_id=server_id, channel_id=channel_id,
        name=name, set_topic=change.topic is not msgspec.UNSET, topic=topic)
    if row is None:
        raise NotFound(permissions.CHANNEL_NOT_FOUND)
    return channel_view(row)


async def delete_channel(app: Mapping, server_id: UUID, channel_id: UUID) -> None:
    """Its messages, threads and everything about them go with it (sql/channels.sql
    delete_channel), its files after the commit;
    members hear channel_deleted on commit. Under the server row's lock, like creations, so
    the positions after it close up without racing a new channel."""
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        await queries.lock_server_channels(con, server_id=server_id)
        if await app[keys.notes].emit(queries.delete_channel, con, server_id=server_id,
                                      channel_id=channel_id) is None:
            raise NotFound(permissions.CHANNEL_NOT_FOUND)
    await files_deleted_after(app)
