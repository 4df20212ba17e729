"""Bans: a banned user is removed from the server and joins it by no route (an invite, an
ADMIN's add) until the ban is lifted."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import NotFound
from chatd.domain.schemas import Ban, User


def _ban_view(row) -> Ban:
    return Ban(user_id=row["user_id"], username=row["username"], reason=row["reason"], banned_by=row["banned_by"],
               created_at=row["created_at"])


async def ban(app: Mapping, actor: User, server_id: UUID, target_id: UUID, reason: str | None) -> Ban:
    """Under the server row's lock (as removals take it), so the target's role cannot change
    between the rule and the ban; a member is removed as DELETE .../members removes one
    (member_removed to the server)."""
    actor_role = await permissions.require_member(app, actor, server_id)
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        await queries.lock_server(con, server_id=server_id)
        target_role = await queries.get_member_role(con, server_id=server_id, user_id=target_id)
        permissions.check_ban(actor, actor_role, target_id, target_role)
        row = await queries.ban_user(con, server_id=server_id, user_id=target_id, reason=reason,
                                     banned_by=actor.user_id)
        if row is None:
            raise NotFound("user not found")
        if target_role is not None:
            await app[keys.notes].emit(queries.remove_member, con, server_id=server_id, user_id=target_id)
    return _ban_view(row)


async def lift_ban(app: Mapping, actor: User, server_id: UUID, target_id: UUID) -> None:
    await permissions.require_role(app, actor, server_id, "MODERATOR", "lift bans")
    if await app[keys.queries].lift_ban(app[keys.pool], server_id=server_id, user_id=target_id) is None:
        raise NotFound("ban not found")


async def list_bans(app: Mapping, actor: User, server_id: UUID) -> list[Ban]:
    await permissions.require_role(app, actor, server_id, "MODERATOR", "see bans")
    return [_ban_view(row) async for row in app[keys.queries].list_bans(app[keys.pool], server_id=server_id)]
