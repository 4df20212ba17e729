"""Deleting an account: its sessions end, it leaves every server (each member hears
member_removed), and its row stays, anonymised, so its messages keep an author (shown as
"Deleted User <id>") and the servers it created keep their creator; its name is free again.
What it uploaded is deleted (its messages stay, without their files)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from chatd.domain.attachments import files_deleted_after
from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import Unauthorized
from chatd.domain.schemas import User
from chatd.domain.sessions import confirm_password, next_second, revoke

log = logging.getLogger(__name__)


async def delete_account(app: Mapping, user: User, password: str, address: str) -> None:
    """All or nothing, in one transaction; its notes go out when it commits. A server the user
    is the last ADMIN of must be handed over or deleted first (409 naming them)."""
    await confirm_password(app, user, password, address)
    queries, bus = app[keys.queries], app[keys.notes]
    async with app[keys.pool].acquire() as con, con.transaction():
        server_ids = [row["id"] async for row in queries.lock_servers_of_member(con, user_id=user.user_id)]
        permissions.check_account_deletion(
            [(row["id"], row["name"]) async for row in queries.list_servers_only_admin(con, user_id=user.user_id)])
        for server_id in server_ids:
            await bus.emit(queries.remove_member, con, server_id=server_id, user_id=user.user_id)
        await revoke(app, con, user.user_id, valid_after=next_second())
        if await queries.anonymise_user(con, user_id=user.user_id) is None:
            raise Unauthorized("token names no user")  # deleted by a request that went first
    log.info("event=account_deleted user_id=%s servers_left=%d", user.user_id, len(server_ids))
    await files_deleted_after(app)  # what the account uploaded
