"""The notes chatd processes send each other: what committed, for every process to deliver.

Each kind of note is declared once here, as the msgspec struct that decodes it. A note is sent
by the statement that makes its change (`pg_notify(:notify_channel, json_build_object('kind',
...))` in sql/*.sql), so it exists exactly when the change committed; a note with no change
behind it (typing) is published through NoteBus.publish. `tests/test_notes.py` checks that each
statement's JSON decodes into its struct with every field and nothing else.

NoteBus is the seam between processes: everything that sends a note goes through `emit` or
`publish`, everything that receives one through `subscribe`. chatd.store.notify implements it
with PostgreSQL NOTIFY; another transport (a message broker) implements the same three.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, Union
from uuid import UUID

import msgspec

from chatd.domain.schemas import DirectMessage, Thread

class Note(msgspec.Struct, tag_field="kind", gc=False):
    """The `kind` tag names the struct; every subclass below is a kind of note. Plain data, in
    no reference cycle: the garbage collector need not track them (a resume makes thousands)."""


class ChangeNote(Note):
    """A change to a channel's content: it took the channel's next `event_seq`, is kept in
    the channel's change stream (sql/changes.sql) and replayed by a resume. Each subclass has
    one event builder in chatd.gateway.outbound.CHANGE_EVENTS. `server_id` is None in a
    conversation (DM)."""

    server_id: UUID | None
    channel_id: UUID
    event_seq: int

    @property
    def complete(self) -> bool:
        """False when the statement left the text out to fit NOTIFY's 8000 bytes: the
        listener reads the change from the database instead."""
        return True


class ReplyNote(msgspec.Struct, gc=False):
    """What a message replies to, as it was when read: text cut at 200 characters, empty once
    that message is deleted."""

    id: UUID
    user_id: UUID
    username: str
    text: str
    deleted: bool


class AttachmentNote(msgspec.Struct, gc=False):
    """A file of a message (migration 0022's message_attachments); `url` is added by the
    process that builds the message's frames (chatd.domain.attachments.UrlSigner.signed)."""

    id: UUID
    filename: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    url: str | None = None


class MessageNote(ChangeNote, tag="message"):
    id: UUID
    user_id: UUID
    username: str
    created_at: datetime
    seq: int
    nonce: str | None = None
    text: str | None = None  # None when too long for NOTIFY: fetch it by id
    reply_to: ReplyNote | None = None
    # Mentions as the statement resolved them (chatd.domain.notifications decides who hears of it).
    mentions: list[UUID] = []  # by <@id> or @username
    mention_everyone: bool = False
    mention_here: bool = False  # every member with a socket open
    mention_reply: bool = True  # the author of reply_to
    attachments: list[AttachmentNote] | None = None

    @property
    def complete(self) -> bool:
        return self.text is not None


class MessageUpdatedNote(ChangeNote, tag="message_updated"):
    """`mentions` and `mention_everyone` as after the edit; `notify` the users the edit
    mentions newly, `notify_everyone` / `notify_here` whether it newly says @everyone / @here."""

    id: UUID
    edited_at: datetime
    text: str | None = None  # None when too long for NOTIFY: read the stored change
    user_id: UUID | None = None  # the author (None in changes stored before mentions)
    username: str | None = None
    mentions: list[UUID] = []
    mention_everyone: bool = False
    notify: list[UUID] = []
    notify_everyone: bool = False
    notify_here: bool = False

    @property
    def complete(self) -> bool:
        return self.text is not None


class MessageDeletedNote(ChangeNote, tag="message_deleted"):
    id: UUID


class MessagesDeletedNote(ChangeNote, tag="messages_deleted"):
    ids: list[UUID]


class ReactionAddedNote(ChangeNote, tag="reaction_added"):
    message_id: UUID
    user_id: UUID
    emoji: str  # fully qualified (chatd.domain.emojis)


class ReactionRemovedNote(ChangeNote, tag="reaction_removed"):
    message_id: UUID
    user_id: UUID
    emoji: str


class ReactionsClearedNote(ChangeNote, tag="reactions_cleared"):
    message_id: UUID


class TypingNote(Note, tag="typing"):
    started: bool
    server_id: UUID | None  # None in a conversation
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


class InviteCreatedNote(Note, tag="invite_created"):
    """For the server's ADMINs and MODERATORs only."""

    server_id: UUID
    code: str
    created_by: UUID
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None
    uses: int


class InviteDeletedNote(Note, tag="invite_deleted"):
    server_id: UUID
    code: str


class ChannelNote(Note):
    """A channel as it is after its change: the fields of chatd.domain.schemas.Channel."""

    server_id: UUID
    id: UUID
    name: str
    type: str
    position: int
    category_id: UUID | None
    topic: str | None  # at most 1,024 characters: the note fits in a NOTIFY
    created_at: datetime


class ChannelCreatedNote(ChannelNote, tag="channel_created"):
    pass


class ChannelUpdatedNote(ChannelNote, tag="channel_updated"):
    pass


class ChannelDeletedNote(Note, tag="channel_deleted"):
    server_id: UUID
    channel_id: UUID


class LayoutNote(Note):
    """The server's layout changed: each process reads it (a big one does not fit in a NOTIFY)
    and sends its members layout_updated. One kind per statement that changes it."""

    server_id: UUID


class LayoutUpdatedNote(LayoutNote, tag="layout_updated"):
    """A reorder (PUT .../layout)."""


class CategoryCreatedNote(LayoutNote, tag="category_created"):
    pass


class CategoryRenamedNote(LayoutNote, tag="category_renamed"):
    pass


class CategoryDeletedNote(LayoutNote, tag="category_deleted"):
    pass


class ServerUpdatedNote(Note, tag="server_updated"):
    """A rename or a new icon: each process reads the server (an icon may not fit in a NOTIFY)."""

    server_id: UUID


class ServerDeletedNote(Note, tag="server_deleted"):
    server_id: UUID


class DmCreatedNote(Note, tag="dm_created"):
    """For everyone in the new conversation."""

    dm: DirectMessage


class DmRecipientAddedNote(Note, tag="dm_recipient_added"):
    dm_id: UUID
    user_id: UUID
    username: str


class DmRecipientRemovedNote(Note, tag="dm_recipient_removed"):
    """Left or removed; `owner_id` is the group's owner after it (another one when the owner left)."""

    dm_id: UUID
    user_id: UUID
    owner_id: UUID | None


class ReadStateUpdatedNote(Note, tag="read_state_updated"):
    """A user's read pointer moved (an ack or a "mark unread"): for their other sockets.
    `origin` is the socket that acked, which knows already (None: over REST, all of them)."""

    user_id: UUID
    server_id: UUID | None
    channel_id: UUID
    last_read_seq: int
    unread_count: int
    mention_count: int
    origin: UUID | None


class NotificationSettingsUpdatedNote(Note, tag="notification_settings_updated"):
    """A user's setting of a server, channel or conversation: for the processes holding their
    sockets, which decide notifications from their cached settings, and for their sockets."""

    user_id: UUID
    scope: str
    target_id: UUID
    level: str
    muted_until: datetime | None


class PresenceNote(Note, tag="presence"):
    """What others see of a user changed (`status`: online, idle, dnd or offline). `own_status`
    is the status the user set, when setting it made the change (None when a socket opening or
    closing did): their own sockets hear of it. `servers` and `peers` (users sharing a
    conversation with them) say where it goes; None when there were too many for NOTIFY: the
    listener reads them."""

    user_id: UUID
    status: str
    own_status: str | None
    servers: list[UUID] | None
    peers: list[UUID] | None


class TokensRevokedNote(Note, tag="tokens_revoked"):
    """The user's token `jti` was revoked (a logout), or every token of theirs issued before
    `valid_after` (logout everywhere, a password change, account deletion); `valid_after` is
    the user's cutoff after the change."""

    user_id: UUID
    jti: UUID | None
    valid_after: datetime


class ThreadCreatedNote(Note, tag="thread_created"):
    """For every member of the thread's server."""

    server_id: UUID
    thread: Thread


class ThreadStateNote(Note):
    """A thread's state after a change, for every member of its server, who hear it as
    thread_updated (at most once a second per thread: chatd.gateway.listener). One kind per
    statement that sends it."""

    server_id: UUID
    thread_id: UUID
    name: str
    message_count: int
    last_message_at: datetime
    archived: bool
    locked: bool


class ThreadUpdatedNote(ThreadStateNote, tag="thread_updated"):
    """Renamed, archived or locked (PATCH)."""


class ThreadActivityNote(ThreadStateNote, tag="thread_activity"):
    """Messages were sent into it (its counters moved; unarchived unless locked)."""


class ThreadArchivedNote(ThreadStateNote, tag="thread_archived"):
    """Archived by the sweep after auto_archive_minutes without a message."""


class ThreadMessagesDeletedNote(ThreadStateNote, tag="thread_messages_deleted"):
    """Messages of it were deleted (one, or a bulk deletion): its message_count went down."""


class ThreadFollowedNote(Note, tag="thread_followed"):
    """Someone began to follow a thread (PUT .../followers/@me), from after `since_seq`: for
    the processes that keep its followers (a send's new followers are its message's note)."""

    thread_id: UUID
    user_id: UUID
    since_seq: int


class ThreadUnfollowedNote(Note, tag="thread_unfollowed"):
    thread_id: UUID
    user_id: UUID


class ThreadDeletedNote(Note, tag="thread_deleted"):
    server_id: UUID
    thread_id: UUID
    parent_channel_id: UUID


def _kinds(base: type[Note]) -> list[type[Note]]:
    """The tagged structs under `base`: every subclass that is not itself a base of others."""
    kinds = []
    for sub in base.__subclasses__():
        kinds.extend(_kinds(sub) if sub.__subclasses__() else [sub])
    return kinds


NOTE_TYPES: tuple[type[Note], ...] = tuple(_kinds(Note))
CHANGE_TYPES: tuple[type[ChangeNote], ...] = tuple(_kinds(ChangeNote))  # type: ignore[arg-type]
_decoder = msgspec.json.Decoder(Union[NOTE_TYPES])  # type: ignore[valid-type]
_encoder = msgspec.json.Encoder()
_attachments = msgspec.json.Decoder(list[AttachmentNote] | None)


def decode_note(payload: str | bytes) -> Note:
    return _decoder.decode(payload)


def encode_note(note: Note) -> str:
    return _encoder.encode(note).decode()


def message_note(row) -> MessageNote:
    """A message row as insert_message_batch (a resend's earlier message) or
    list_message_notes_after_seq (a resume of one channel) answers it."""
    return MessageNote(
        id=row["id"], server_id=row["server_id"], channel_id=row["channel_id"], user_id=row["user_id"],
        username=row["username"], created_at=row["created_at"], seq=row["seq"], nonce=row["nonce"], text=row["text"],
        event_seq=row["event_seq"], reply_to=reply_note(row), mentions=row["mentions"],
        mention_everyone=row["mention_everyone"], mention_here=row["mention_here"], mention_reply=row["mention_reply"],
        attachments=decode_attachments(row["attachments"]),
    )


def decode_attachments(stored: str | None) -> list[AttachmentNote] | None:
    """message_attachments' JSON (migration 0022): a message's files, or None."""
    return _attachments.decode(stored) if stored else None


def reply_note(row) -> ReplyNote | None:
    """The reply_* columns of a message row (message_row, insert_message_batch)."""
    if row["reply_to_id"] is None:
        return None
    return ReplyNote(id=row["reply_to_id"], user_id=row["reply_user_id"], username=row["reply_username"],
                     text=row["reply_text"], deleted=row["reply_deleted"])


class Receiver(Protocol):
    """What a subscriber is told: each note as it arrives, in commit order, and when notes may
    have been missed (the transport was down), so it can read what committed meanwhile."""

    def received(self, payload: str) -> None: ...

    def missed(self, since: datetime) -> None: ...


class NoteBus(Protocol):
    ready: bool  # receiving now; /readyz reports the bus while it is not
    first_ready: asyncio.Event  # set once it first receives: a process serves after that

    def emit(self, statement: Callable[..., Any], executor: Any, **params: Any) -> Any:
        """Run a named statement that sends its own note, passing it the bus's `notify_channel`;
        returns what the statement returns (a coroutine, or rows to iterate)."""

    async def publish(self, note: Note) -> None:
        """A note that no statement sends."""

    def subscribe(self, receiver: Receiver) -> None: ...
