"""Database rows to response bodies."""

from __future__ import annotations

from datetime import datetime, tzinfo, timezone

from chatd.domain.attachments import UrlSigner
from chatd.domain.schemas import Channel, Member, Message, Reaction, ReplyPreview, Server


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


def channel_view(row) -> Channel:
    return Channel(
        id=row["id"], server_id=row["server_id"], name=row["name"], type=row["type"].lower(),
        position=row["position"], created_at=row["created_at"],
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
        mentions=row["mentions"], mention_everyone=row["mention_everyone"],
        attachments=urls.attachments(row.get("attachments")),
    )


def member_view(row) -> Member:
    return Member(user_id=row["user_id"], username=row["username"], role=row["role"], joined_at=row["joined_at"])
