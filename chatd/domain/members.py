"""Server membership and roles: adding, removing (or leaving) and changing a role."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput, Conflict, NotFound
from chatd.domain.schemas import Member, User
from chatd.domain.views import member_view


async def list_members(app: Mapping, server_id: UUID) -> list[Member]:
    return [member_view(row) async for row in app[keys.queries].list_members(app[keys.pool], server_id=server_id)]


async def add_member(app: Mapping, actor: User, server_id: UUID, user_id: UUID | None, username: str | None,
                     role: str) -> Member:
    """The user named by id or by username joins; their sockets start receiving the server's
    events when member_added arrives."""
    permissions.check_add_member(await permissions.require_member(app, actor, server_id), role)
    target_id = await _resolve_user(app, user_id, username)
    rows = await join(app, server_id, [target_id], [role])
    if not rows:
        # Banned, already a member, or the server was deleted since the check above (404 then).
        await permissions.require_member(app, actor, server_id)
        await permissions.require_not_banned(app, server_id, target_id)
        raise Conflict("already a member of this server")
    return member_view(rows[0])


async def join(app: Mapping, server_id: UUID, user_ids: list[UUID], roles: list[str],
               invite_code: str | None = None) -> list:
    """Users join a server (add_members: its rows, one per new member) after any ban of the
    server in progress has committed: a user banned meanwhile joins not."""
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        await queries.share_server(con, server_id=server_id)
        return [row async for row in app[keys.notes].emit(
            queries.add_members, con, server_id=server_id, user_ids=user_ids, roles=roles, invite_code=invite_code)]


async def remove_member(app: Mapping, actor: User, server_id: UUID, target_id: UUID) -> None:
    actor_role = await permissions.require_member(app, actor, server_id)
    async with _member_change(app, server_id, target_id) as (con, target_role, admins):
        permissions.check_remove_member(actor, actor_role, target_id, target_role)
        permissions.check_admin_remains(target_role, None, admins)
        await app[keys.notes].emit(app[keys.queries].remove_member, con, server_id=server_id, user_id=target_id)


async def change_role(app: Mapping, actor: User, server_id: UUID, target_id: UUID, role: str) -> Member:
    await permissions.require_role(app, actor, server_id, "ADMIN", "change roles")
    async with _member_change(app, server_id, target_id) as (con, target_role, admins):
        permissions.check_admin_remains(target_role, role, admins)
        row = await app[keys.queries].set_member_role(con, server_id=server_id, user_id=target_id, role=role)
    return member_view(row)


async def _resolve_user(app: Mapping, user_id: UUID | None, username: str | None) -> UUID:
    """The user a request names by id or by username (exactly one of them)."""
    if (user_id is None) == (username is None):
        raise BadInput("give exactly one of user_id or username")
    queries, pool = app[keys.queries], app[keys.pool]
    if user_id is not None:
        row = await queries.get_user_by_id(pool, user_id=user_id)
    else:
        row = await queries.get_user_by_username(pool, username=username)
    if row is None:
        raise NotFound("user not found")
    return row["user_id"]


@contextlib.asynccontextmanager
async def _member_change(app: Mapping, server_id: UUID, target_id: UUID) -> AsyncIterator[tuple]:
    """A transaction holding the server row's lock, so two ADMINs removing or demoting each
    other at once cannot both see "another ADMIN remains". Yields the connection, the
    target's role and the number of ADMINs; 404 when the target is not a member."""
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        await queries.lock_server(con, server_id=server_id)
        admins = await queries.count_server_admins(con, server_id=server_id)
        target_role = await queries.get_member_role(con, server_id=server_id, user_id=target_id)
        if target_role is None:
            raise NotFound("member not found")
        yield con, target_role, admins
