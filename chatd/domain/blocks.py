"""Blocks: a user blocked (either way) cannot open a conversation with the blocker, add them to
a group, or send into their 1:1 (the rules in chatd.domain.permissions; the send's in its
statement)."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import NotFound
from chatd.domain.schemas import Block, User


async def block(app: Mapping, user: User, target_id: UUID) -> None:
    """Blocking twice changes nothing."""
    permissions.check_block(user, target_id)
    if not await app[keys.queries].block_user(app[keys.pool], user_id=user.user_id, blocked_id=target_id):
        raise NotFound(permissions.USER_NOT_FOUND)


async def unblock(app: Mapping, user: User, target_id: UUID) -> None:
    if await app[keys.queries].unblock_user(app[keys.pool], user_id=user.user_id, blocked_id=target_id) is None:
        raise NotFound("block not found")


async def list_blocks(app: Mapping, user: User) -> list[Block]:
    rows = app[keys.queries].list_blocks(app[keys.pool], user_id=user.user_id)
    return [Block(user_id=row["user_id"], username=row["username"], created_at=row["created_at"]) async for row in rows]
