"""The only place that says yes or no. Each check is one SQL query.

Non-members get 404 for a server and everything under it, never a hint that it exists;
members lacking a role get 403 naming the role needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chatd import keys
from chatd.web.errors import ApiError
from chatd.domain.schemas import User

RANK = {"MEMBER": 0, "MODERATOR": 1, "ADMIN": 2}
SERVER_NOT_FOUND = "server not found"
CHANNEL_NOT_FOUND = "channel not found"


# The seed's helpers, by the seed's names.

async def get_user_role_in_server(app: Mapping, user_id: UUID, server_id: UUID) -> str | None:
    return await app[keys.queries].get_member_role(app[keys.pool], server_id=server_id, user_id=user_id)


async def user_has_server_access(app: Mapping, user_id: UUID, server_id: UUID) -> bool:
    return await get_user_role_in_server(app, user_id, server_id) is not None


async def get_server_members(app: Mapping, server_id: UUID) -> list:
    return [row async for row in app[keys.queries].list_members(app[keys.pool], server_id=server_id)]


async def user_can_send_message(app: Mapping, user_id: UUID, server_id: UUID, channel_id: UUID) -> bool:
    access = await _channel_access(app, user_id, server_id, channel_id)
    return access is not None and access["channel_type"] == "TEXT"


# What handlers call: each returns what it learned, or raises ApiError.

async def require_member(app: Mapping, user: User, server_id: UUID) -> str:
    """The caller's role in the server; 404 when they are not a member."""
    role = await get_user_role_in_server(app, user.user_id, server_id)
    if role is None:
        raise ApiError(404, SERVER_NOT_FOUND)
    return role


async def require_role(app: Mapping, user: User, server_id: UUID, needed: str, action: str) -> str:
    role = await require_member(app, user, server_id)
    if RANK[role] < RANK[needed]:
        who = "an ADMIN" if needed == "ADMIN" else "a MODERATOR or ADMIN"
        raise ApiError(403, f"only {who} can {action}")
    return role


async def require_channel(app: Mapping, user: User, server_id: UUID, channel_id: UUID) -> str:
    """The channel's type; 404 when the caller is not a member or the channel is elsewhere."""
    access = await _channel_access(app, user.user_id, server_id, channel_id)
    if access is None:
        raise ApiError(404, SERVER_NOT_FOUND)
    if access["channel_type"] is None:
        raise ApiError(404, CHANNEL_NOT_FOUND)
    return access["channel_type"]


async def require_send(app: Mapping, user: User, server_id: UUID, channel_id: UUID) -> None:
    if await require_channel(app, user, server_id, channel_id) != "TEXT":
        raise ApiError(400, "this is a VOICE channel: only TEXT channels take messages")


def check_add_member(actor_role: str, new_role: str) -> None:
    """ADMINs add anyone with any role; MODERATORs add MEMBERs; MEMBERs add no one."""
    if actor_role == "MEMBER":
        raise ApiError(403, "only a MODERATOR or ADMIN can add members")
    if actor_role == "MODERATOR" and new_role != "MEMBER":
        raise ApiError(403, f"only an ADMIN can add a member as {new_role}")


def check_remove_member(actor: User, actor_role: str, target_id: UUID, target_role: str) -> None:
    """Anyone may leave; ADMINs remove anyone; MODERATORs remove MEMBERs only."""
    if target_id == actor.user_id or actor_role == "ADMIN":
        return
    if actor_role == "MEMBER":
        raise ApiError(403, "only a MODERATOR or ADMIN can remove members")
    if target_role != "MEMBER":
        article = "an" if target_role == "ADMIN" else "a"
        raise ApiError(403, f"only an ADMIN can remove {article} {target_role}")


async def _channel_access(app: Mapping, user_id: UUID, server_id: UUID, channel_id: UUID):
    return await app[keys.queries].get_channel_access(
        app[keys.pool], server_id=server_id, channel_id=channel_id, user_id=user_id
    )
