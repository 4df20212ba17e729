"""Threads: a channel (type THREAD) started on a message of a TEXT channel (migration 0024).

Everything a channel has, a thread has through the channel paths with its id: the statements
behind them read chatchannel and channel_reader, which cover it. What is a thread's own is
here: starting one (one per message), its name, archiving and locking, deleting it, its
followers (whose unread counts alone include it), and a channel's threads by latest activity.
Sends keep its counters and its followers (insert_message_batch); thread_updated reaches
clients through the listener, at most once a second per thread (chatd.gateway.coalesce).
Following and unfollowing send notes: each process keeps the followers of the threads it
delivers notifications of (chatd.gateway.notifier).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.attachments import files_deleted_after
from chatd.domain.errors import BadInput, NotFound
from chatd.domain.inputs import stripped
from chatd.domain.schemas import FollowedThread, NewThread, Thread, ThreadChange, User
from chatd.domain.views import followed_thread_view, thread_view


async def start_thread(app: Mapping, user: User, server_id: UUID, channel_id: UUID, message_id: UUID,
                       body: NewThread) -> FollowedThread:
    """The server's members hear thread_created on commit; the root's author and the creator
    follow it."""
    name = stripped(body.name, "name")
    await permissions.require_start_thread(app, user, server_id, channel_id, message_id)
    row = await app[keys.notes].emit(app[keys.queries].create_thread, app[keys.pool], server_id=server_id,
                                     channel_id=channel_id, message_id=message_id, user_id=user.user_id, name=name,
                                     auto_archive_minutes=body.auto_archive_minutes)
    if row is None:  # the message was deleted, or given a thread, since the check: say which
        await permissions.require_start_thread(app, user, server_id, channel_id, message_id)
        raise NotFound(permissions.MESSAGE_NOT_FOUND)
    return await get_thread(app, user, row["id"])


async def get_thread(app: Mapping, user: User, thread_id: UUID) -> FollowedThread:
    row = await app[keys.queries].get_thread(app[keys.pool], thread_id=thread_id, user_id=user.user_id)
    if row is None:
        raise NotFound(permissions.THREAD_NOT_FOUND)
    return followed_thread_view(row)


async def change_thread(app: Mapping, user: User, thread_id: UUID, change: ThreadChange) -> FollowedThread:
    """A rename, archiving or locking: the server's members hear thread_updated."""
    if change.name is None and change.archived is None and change.locked is None:
        raise BadInput("name, archived or locked is needed")
    name = None if change.name is None else stripped(change.name, "name")
    await permissions.require_thread_change(app, user, thread_id,
                                            rename_or_archive=name is not None or change.archived is not None,
                                            lock=change.locked is not None)
    if await app[keys.notes].emit(app[keys.queries].update_thread, app[keys.pool], thread_id=thread_id, name=name,
                                  archived=change.archived, locked=change.locked) is None:
        raise NotFound(permissions.THREAD_NOT_FOUND)  # deleted since the check
    return await get_thread(app, user, thread_id)


async def delete_thread(app: Mapping, user: User, thread_id: UUID) -> None:
    """The thread and its messages; the server's members hear thread_deleted."""
    await permissions.require_thread_change(app, user, thread_id, rename_or_archive=True, lock=False)
    if await app[keys.notes].emit(app[keys.queries].delete_thread, app[keys.pool], thread_id=thread_id) is None:
        raise NotFound(permissions.THREAD_NOT_FOUND)
    await files_deleted_after(app)


async def list_threads(app: Mapping, user: User, server_id: UUID, channel_id: UUID, archived: bool,
                       before: datetime | None, limit: int) -> list[Thread]:
    """The channel's threads, the latest active first, older than `before` (their last activity)."""
    await permissions.require_channel(app, user, server_id, channel_id)
    rows = app[keys.queries].list_threads(app[keys.pool], channel_id=channel_id, archived=archived, before=before,
                                          lim=limit)
    return [thread_view(row) async for row in rows]


async def follow(app: Mapping, user: User, thread_id: UUID, following: bool) -> None:
    """Follow (counted from the thread's last message now) or stop following; again: nothing changes."""
    await get_thread(app, user, thread_id)
    queries = app[keys.queries]
    statement = queries.follow_thread if following else queries.unfollow_thread
    await app[keys.notes].emit(statement, app[keys.pool], thread_id=thread_id, user_id=user.user_id)
