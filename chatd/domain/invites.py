"""Invite links: ADMINs and MODERATORs make and revoke them, anyone holding a code previews the
server, and a signed-in user joins by one as a MEMBER."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from uuid import UUID

from chatd import keys
from chatd.domain import members, permissions
from chatd.domain.errors import NotFound
from chatd.domain.ratelimit import within_limit
from chatd.domain.schemas import Invite, InvitePreview, Server, User
from chatd.domain.views import server_view

# No look-alikes (0/O/o, 1/l/I): a code is read aloud and typed from screens. 56 symbols, so
# 10 of them carry 58 bits: not found by guessing, even at the preview's rate limit.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
CODE_LENGTH = 10
MAX_CODE_LENGTH = 32  # what a path may name at all: anything longer is no code


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def _invite_view(row) -> Invite:
    return Invite(code=row["code"], server_id=row["server_id"], created_by=row["created_by"],
                  created_at=row["created_at"], expires_at=row["expires_at"], max_uses=row["max_uses"],
                  uses=row["uses"])


async def create_invite(app: Mapping, actor: User, server_id: UUID, max_age_seconds: int, max_uses: int) -> Invite:
    """`max_age_seconds` 0: never expires; `max_uses` 0: unlimited. The server's ADMINs and
    MODERATORs hear invite_created."""
    await permissions.require_role(app, actor, server_id, "MODERATOR", "manage invites")
    while True:  # a code drawn twice (one in 2^58) is drawn again
        row = await app[keys.notes].emit(
            app[keys.queries].create_invite, app[keys.pool], code=new_code(), server_id=server_id,
            created_by=actor.user_id, max_age_seconds=max_age_seconds, max_uses=max_uses or None)
        if row is not None:
            return _invite_view(row)
        await permissions.require_member(app, actor, server_id)  # or the server is gone: 404


async def list_invites(app: Mapping, actor: User, server_id: UUID) -> list[Invite]:
    await permissions.require_role(app, actor, server_id, "MODERATOR", "manage invites")
    return [_invite_view(row) async for row in app[keys.queries].list_invites(app[keys.pool], server_id=server_id)]


async def revoke_invite(app: Mapping, actor: User, server_id: UUID, code: str) -> None:
    await permissions.require_role(app, actor, server_id, "MODERATOR", "manage invites")
    revoked = await app[keys.notes].emit(app[keys.queries].revoke_invite, app[keys.pool], server_id=server_id,
                                         code=code)
    if revoked is None:
        raise NotFound(permissions.INVITE_NOT_FOUND)


async def preview_invite(app: Mapping, code: str, address: str) -> InvitePreview:
    """Needs no token, so it is limited per client address instead of per user."""
    within_limit(app[keys.invite_limiter], address, "too many invite lookups, retry later")
    row = None if len(code) > MAX_CODE_LENGTH else await app[keys.queries].get_invite_preview(
        app[keys.pool], code=code)
    if row is None:
        raise NotFound(permissions.INVITE_NOT_FOUND)
    return InvitePreview(code=row["code"], server_id=row["server_id"], name=row["name"], icon=row["icon"],
                         member_count=row["member_count"], expires_at=row["expires_at"])


async def accept_invite(app: Mapping, user: User, code: str) -> Server:
    """The user joins as a MEMBER (member_added to the server; their own sockets get the
    server as server_joined); a member already gets the server, and nothing is used. The use
    is counted by the statement that adds the member (add_members), so however many accept
    at once, no more than max_uses join."""
    if len(code) > MAX_CODE_LENGTH:
        raise NotFound(permissions.INVITE_NOT_FOUND)
    server_id, member = await permissions.require_accept(app, user, code)
    if not member:
        await members.join(app, server_id, [user.user_id], ["MEMBER"], invite_code=code)
    # Joined now, or a member already; else the invite closed (or a ban came) meanwhile: 404 or 403.
    row = await app[keys.queries].get_server_for_member(app[keys.pool], server_id=server_id, user_id=user.user_id)
    if row is None:
        await permissions.require_accept(app, user, code)
        raise NotFound(permissions.INVITE_NOT_FOUND)
    return server_view(row)
