"""Servers (guilds): creating one with its ADMIN and `general` channel, renaming one, deleting one."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import msgspec

from chatd.domain.attachments import files_deleted_after
from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput, NotFound
from chatd.domain.inputs import stripped
from chatd.domain.schemas import Server, ServerChange, User
from chatd.domain.views import server_view


async def create_server(app: Mapping, creator: User, name: str, icon: str | None) -> Server:
    """One transaction: the server, its `general` channel and its creator as ADMIN (whose
    member_added note subscribes their open sockets on commit). The name is stored stripped."""
    name = stripped(name, "name")
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        row = await queries.create_server(con, name=name, icon=icon, creator_id=creator.user_id)
        [_ async for _ in app[keys.notes].emit(
            queries.add_members, con, server_id=row["id"], user_ids=[creator.user_id], roles=["ADMIN"],
            invite_code=None)]
    return server_view(row)


async def delete_server(app: Mapping, server_id: UUID) -> None:
    """Channels, messages, files and memberships go with it; members hear server_deleted on commit."""
    await app[keys.notes].emit(app[keys.queries].delete_server, app[keys.pool], server_id=server_id)
    await files_deleted_after(app)


async def update_server(app: Mapping, user: User, server_id: UUID, change: ServerChange) -> Server:
    """A rename and/or an icon (null: none); members hear server_updated on commit."""
    if change.name is msgspec.UNSET and change.icon is msgspec.UNSET:
        raise BadInput("give a name, an icon or both")
    row = await app[keys.notes].emit(
        app[keys.queries].update_server, app[keys.pool], server_id=server_id, user_id=user.user_id,
        name=None if change.name is msgspec.UNSET else stripped(change.name, "name"),
        set_icon=change.icon is not msgspec.UNSET, icon=None if change.icon is msgspec.UNSET else change.icon)
    if row is None:  # deleted, or the caller left, since the permission check
        raise NotFound(permissions.SERVER_NOT_FOUND)
    return server_view(row)
