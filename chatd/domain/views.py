"""Database rows to response bodies."""

from __future__ import annotations

from datetime import datetime, tzinfo, timezone

from chatd.domain.attachments import UrlSigner
from chatd.domain.schemas import (
    Channel, FollowedThread, Member, Message, Reaction, ReplyPreview, Server, ServerProfile, Thread, ThreadSummary,
)


def clock_time(moment: datetime, zone: tzinfo = timezone.utc) -> str:
    """The product spec's wall-clock stamp: "12:30 PM", "9:05 AM". Every new_message event
    has one (a resume builds thousands): looked up, not formatted."""
    local = moment if moment.tzinfo is zone else moment.astimezone(zone)
    return _CLOCK[local.hour * 60 + local.minute]


_CLOCK = [f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}" for hour in range(24) for minute in range(60)]


def server_view(row) -> Server:
    return Server(
        id=row["id"], name=row["name"], icon=row["icon"], creator_id=row["creator_id"],
        created_by=row["creator_id"], created_at=row["created_at"], role=row["role"],
    )


def server_profile_view(row) -> ServerProfile:
    return ServerProfile(id=row["id"], name=row["name"], icon=row["icon"], creator_id=row["creator_id"],
                         created_by=row["creator_id"], created_at=row["created_at"])


def channel_view(row) -> Channel:
    return Channel(
        id=row["id"], server_id=row["server_id"], name=row["name"], type=row["type"].lower(),
        position=row["position"], category_id=row["category_id"], topic=row["topic"], created_at=row["created_at"],
    )


def message_view(row, username: str, reactions: list[Reaction], urls: UrlSigner) -> Message:
    """A message row (message_row, or insert_message_batch's answer) with its reactions, and
    its files (the row's `attachments`, when it has that column) with links for the reader."""
    reply = None
    if row["reply_to_id"] is not None:
        reply = ReplyPreview(id=row["reply_to_id"], user_id=row["reply_user_id"], user=row["reply_username"],
                             text=row["reply_text"], deleted=row["reply_deleted"])
    return Message(
        id=row["id"], server_id=row["server_id"], channel_id=row["channel_id"],
        user_id=row["user_id"], user=username, text=row["text"],
        timestamp=clock_time(row["created_at"]), created_at=row["created_at"], seq=row["seq"],
        event_seq=row["event_seq"], edited_at=row["edited_at"], reply_to=reply, reactions=reactions,
        mentions=row["mentions"], mention_everyone=row["mention_everyone"], thread=thread_summary(row),
        attachments=urls.attachments(row.get("attachments")),
    )


def thread_summary(row) -> ThreadSummary | None:
    """The thread_* columns of message_row (a send's answer has none: a new message has no thread)."""
    if row.get("thread_id") is None:
        return None
    return ThreadSummary(id=row["thread_id"], name=row["thread_name"], message_count=row["thread_message_count"],
                         last_message_at=row["thread_last_message_at"])


def thread_view(row) -> Thread:
    """A thread_row row."""
    return Thread(**{name: row[name] for name in Thread.__struct_fields__ if name != "type"}, type="thread")


def followed_thread_view(row) -> FollowedThread:
    """get_thread's row: a thread_row row with `following`."""
    return FollowedThread(**{name: row[name] for name in FollowedThread.__struct_fields__ if name != "type"},
                          type="thread")


def member_view(row) -> Member:
    return Member(user_id=row["user_id"], username=row["username"], role=row["role"], joined_at=row["joined_at"])
