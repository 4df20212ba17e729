"""Direct messages: opening a 1:1 conversation (found or made), making a group, its people
coming and going, and reading conversations. A conversation is a channel without a server, so
its messages, edits, reactions and change stream are the channel operations' (server_id None).

Each change sends its note in its transaction (dm_created, dm_recipient_added,
dm_recipient_removed); chatd.gateway.listener subscribes and unsubscribes sockets from them."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import msgspec

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import NotFound
from chatd.domain.schemas import DirectMessage, User

_dm = msgspec.json.Decoder(DirectMessage)
_dms = msgspec.json.Decoder(list[DirectMessage])


def dm_view(text: str) -> DirectMessage:
    """A conversation as dm_json (migration 0016) builds it."""
    return _dm.decode(text)


def dm_views(text: str | None) -> list[DirectMessage]:
    """A JSON array of dm_json (the connect lookup's `dms`; NULL: none)."""
    return [] if text is None else _dms.decode(text)


async def open_dm(app: Mapping, user: User, recipient_ids: list[UUID]) -> tuple[DirectMessage, bool]:
    """The conversation with these users, and whether it is new: with one, the pair's 1:1
    (found, or made once however many ask at once); with more, a new group the caller owns."""
    await permissions.require_open_dm(app, user, recipient_ids)
    queries, pool = app[keys.queries], app[keys.pool]
    async with pool.acquire() as con:
        async with con.transaction():
            if len(recipient_ids) == 1:
                low, high = sorted([user.user_id, recipient_ids[0]])
                dm_id = await queries.create_dm_pair(con, low_user_id=low, high_user_id=high)
            else:
                dm_id = await queries.create_group_dm(con, owner_id=user.user_id,
                                                      user_ids=[user.user_id, *recipient_ids])
            if dm_id is not None:
                await app[keys.notes].emit(queries.notify_dm_created, con, channel_id=dm_id)
        created = dm_id is not None
        if not created:  # the pair's conversation, made by an earlier (or a concurrent, now committed) request
            dm_id = await queries.get_dm_pair(con, low_user_id=low, high_user_id=high)
    return await get_dm(app, user, dm_id), created


async def get_dm(app: Mapping, user: User, dm_id: UUID) -> DirectMessage:
    """404 for anyone not in it."""
    text = await app[keys.queries].get_dm(app[keys.pool], channel_id=dm_id, user_id=user.user_id)
    if text is None:
        raise NotFound(permissions.DM_NOT_FOUND)
    return dm_view(text)


async def list_dms(app: Mapping, user: User) -> list[DirectMessage]:
    rows = app[keys.queries].list_dms_of_user(app[keys.pool], user_id=user.user_id)
    return [dm_view(row["dm"]) async for row in rows]


async def add_recipient(app: Mapping, user: User, dm_id: UUID, target_id: UUID) -> None:
    """The owner adds someone to a group; someone in it already: nothing changes."""
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        await queries.lock_dm(con, channel_id=dm_id)
        if await permissions.require_add_recipient(app, con, user, dm_id, target_id):
            await app[keys.notes].emit(queries.add_dm_recipient, con, channel_id=dm_id, user_id=target_id)


async def remove_recipient(app: Mapping, user: User, dm_id: UUID, target_id: UUID) -> None:
    """Someone leaves a group, or its owner removes them; a group everyone left is deleted."""
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        await queries.lock_dm(con, channel_id=dm_id)
        await permissions.require_remove_recipient(app, con, user, dm_id, target_id)
        await app[keys.notes].emit(queries.remove_dm_recipient, con, channel_id=dm_id, user_id=target_id)
        await queries.delete_empty_dm(con, channel_id=dm_id)
