"""What chatd processes tell each other over PostgreSQL NOTIFY.

Message, membership, channel and server-deletion notes are sent by the SQL statement that
makes the change (sql/*.sql), so a note exists exactly when its change committed; typing
notes are published from here. Every process LISTENs on one channel and hears them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Union
from uuid import UUID

import msgspec

from chatd import keys

NOTIFY_CHANNEL = "chatd"


class Note(msgspec.Struct, tag_field="kind"):
    pass


class MessageNote(Note, tag="message"):
    id: UUID
    server_id: UUID
    channel_id: UUID
    user_id: UUID
    username: str
    created_at: datetime
    seq: int
    nonce: str | None = None
    text: str | None = None  # None when too long for NOTIFY: fetch it by id


class TypingNote(Note, tag="typing"):
    started: bool
    server_id: UUID
    channel_id: UUID
    user_id: UUID
    username: str


class MemberAddedNote(Note, tag="member_added"):
    server_id: UUID
    user_id: UUID
    username: str
    role: str


class MemberRemovedNote(Note, tag="member_removed"):
    server_id: UUID
    user_id: UUID


class ChannelCreatedNote(Note, tag="channel_created"):
    server_id: UUID
    id: UUID
    name: str
    type: str
    position: int


class ServerDeletedNote(Note, tag="server_deleted"):
    server_id: UUID


AnyNote = Union[MessageNote, TypingNote, MemberAddedNote, MemberRemovedNote, ChannelCreatedNote, ServerDeletedNote]
_decoder = msgspec.json.Decoder(AnyNote)


def decode_note(payload: str) -> Note:
    return _decoder.decode(payload)


def message_note(row) -> MessageNote:
    """A message row read back from the database (catch-up, resume, long text)."""
    return MessageNote(
        id=row["id"], server_id=row["server_id"], channel_id=row["channel_id"], user_id=row["user_id"],
        username=row["username"], created_at=row["created_at"], seq=row["seq"], nonce=row["nonce"], text=row["text"],
    )


async def publish(app: Mapping, note: Note) -> None:
    await app[keys.queries].publish_event(
        app[keys.pool], notify_channel=NOTIFY_CHANNEL, payload=msgspec.json.encode(note).decode()
    )
