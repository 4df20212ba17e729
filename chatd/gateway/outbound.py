"""Every event chatd sends a client, each built by one builder here, whatever the path (live
fan-out, resume, catch-up, the answer to a resend): an event has one shape.

Events named by the product spec keep its fields (and its snake_case where it has them);
chatd's additions are camelCase like the spec's WebSocket fields. Each returns a complete
frame (chatd.gateway.framing), encoded once and written to any number of sockets.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Union
from uuid import UUID

import msgspec

from chatd.domain.errors import Refused
from chatd.domain.notifications import PREVIEW_CHARS
from chatd.domain.notes import (
    AttachmentNote, ChangeNote, ChannelCreatedNote, ChannelNote, DmRecipientAddedNote, DmRecipientRemovedNote,
    InviteCreatedNote, InviteDeletedNote, MemberAddedNote, MemberRemovedNote, MessageDeletedNote, MessageNote,
    MessagesDeletedNote, MessageUpdatedNote, NotificationSettingsUpdatedNote, ReactionAddedNote, ReactionRemovedNote,
    ReactionsClearedNote, ReadStateUpdatedNote, ServerDeletedNote, ThreadCreatedNote, ThreadDeletedNote,
    ThreadStateNote, TypingNote, decode_attachments, decode_note,
)
from chatd.domain.schemas import Channel, DirectMessage, Invite, Layout, Server, ServerProfile, User
from chatd.domain.views import clock_time
from chatd.gateway.framing import encode, event_json, text_frame

if TYPE_CHECKING:
    from chatd.domain.attachments import UrlSigner


def connected(user: User, servers: list[Server], dms: list[DirectMessage], unreads: msgspec.Raw,
              heartbeat_seconds: float, status: str, presences: str | None) -> bytes:
    """`dms`: the user's conversations, as GET /chat/dms lists them; `unreads`: the channels with
    something unread, as read_state_updated has them (without `type`), the JSON the connect
    query built (sql/users.sql get_users_with_servers); `status`: what the user set;
    `presences`: the JSON {user id: status} of those who share a server or a conversation with
    them and are not offline, as the connect query built it."""
    return encode({
        "type": "connected", "message": "Connected to chat server", "user_id": user.user_id,
        "username": user.username, "servers": servers, "dms": dms, "unreads": unreads,
        "heartbeatInterval": int(heartbeat_seconds * 1000),
        "status": status, "presences": msgspec.Raw(presences.encode()) if presences else {},
    })


class ReplyTo(msgspec.Struct, rename="camel", gc=False):
    """What a new message replies to, in its event."""

    id: UUID
    user_id: UUID
    user: str
    text: str
    deleted: bool


class NewMessage(msgspec.Struct, tag_field="type", tag="new_message", kw_only=True, omit_defaults=True,
                 rename="camel", gc=False):
    """The new_message event: the spec's fields, plus userId, createdAt, seq, eventSeq, the
    sender's nonce, what it replies to (and whether that mentions its author), whom it mentions
    and its files (those only when it has them). A Struct, encoded as it is: a resume builds
    thousands, and a dict of them cost as much again to build and to encode. Built with at most
    fourteen keywords, the optional fields set after: CPython passes more as a dict, which took
    msgspec four times as long. A replay fills the ids with their text, which encodes the same
    (chatd.gateway.outbound.replayed_event)."""

    id: UUID
    user: str
    user_id: UUID
    text: str | None
    timestamp: str
    created_at: datetime
    server_id: UUID | None
    channel_id: UUID
    seq: int
    event_seq: int
    nonce: str | None = None
    reply_to: ReplyTo | None = None
    mention_reply: bool | None = None  # with reply_to: whether it mentions the author replied to
    mentions: list[UUID]
    mention_everyone: bool
    mention_here: bool  # a socket that hears it was open: a mention of its user
    attachments: list[AttachmentNote] | None = None  # as REST's Message has them, each with its url


def new_message_event(note: MessageNote, zone: tzinfo) -> NewMessage:
    event = NewMessage(
        id=note.id, user=note.username, user_id=note.user_id, text=note.text,
        timestamp=clock_time(note.created_at, zone), created_at=note.created_at, server_id=note.server_id,
        channel_id=note.channel_id, seq=note.seq, event_seq=note.event_seq, nonce=note.nonce,
        mentions=note.mentions, mention_everyone=note.mention_everyone, mention_here=note.mention_here,
    )
    reply = note.reply_to
    if reply is not None:
        event.reply_to = ReplyTo(reply.id, reply.user_id, reply.username, reply.text, reply.deleted)
        event.mention_reply = note.mention_reply
    if note.attachments:
        event.attachments = note.attachments
    return event


def new_message(note: MessageNote, zone: tzinfo) -> bytes:
    return encode(new_message_event(note, zone))


class NoteFields:
    """The event of a change that is its note's fields, in camelCase and in this order, after
    `type` (the note's kind): built from a note like any builder (`zone` unused), and from a
    stored note's JSON without decoding the note (`json`, whose fields are the event's, in
    order: stored_event builds the event from them positionally): its ids are copied as they
    are, where parsing each into a UUID and formatting it again was most of what a replayed
    reaction cost."""

    def __init__(self, note_type: type[ChangeNote], *fields: str):
        kind = note_type.__struct_config__.tag
        declared = {field.name: field for field in msgspec.structs.fields(note_type)}
        self.fields = operator.attrgetter(*fields)
        # One struct for both: msgspec encodes what a field holds, a UUID or the JSON of one. Plain
        # data in no cycle, untracked by the collector (gc=False): a replay makes thousands.
        self.event = msgspec.defstruct(f"{note_type.__name__}Event", [(name, declared[name].type) for name in fields],
                                       tag_field="type", tag=kind, rename="camel", gc=False)
        self.json = msgspec.defstruct(f"{note_type.__name__}Json", [_verbatim(declared[name]) for name in fields],
                                      tag_field="kind", tag=kind, kw_only=True, gc=False)

    def __call__(self, note: ChangeNote, zone: tzinfo) -> msgspec.Struct:
        return self.event(*self.fields(note))


def _verbatim(field: msgspec.structs.FieldInfo) -> tuple:
    """A note's field as `NoteFields.json` decodes it: ids as their JSON, the rest as the note."""
    decoded_as = {UUID: msgspec.Raw, UUID | None: msgspec.Raw, list[UUID]: list[msgspec.Raw]}.get(field.type,
                                                                                                 field.type)
    return (field.name, decoded_as) if field.required else (field.name, decoded_as, field.default)


# The event of each kind of change, by note type: live fan-out, resume and GET .../changes all
# build a change's event here. `zone` is the recipient's time zone, for events with a clock time.
CHANGE_EVENTS: dict[type[ChangeNote], Callable[[Any, tzinfo], Any]] = {
    MessageNote: new_message_event,
    MessageUpdatedNote: NoteFields(MessageUpdatedNote, "id", "server_id", "channel_id", "text", "edited_at",
                                   "event_seq", "mentions", "mention_everyone"),
    MessageDeletedNote: NoteFields(MessageDeletedNote, "id", "server_id", "channel_id", "event_seq"),
    MessagesDeletedNote: NoteFields(MessagesDeletedNote, "ids", "server_id", "channel_id", "event_seq"),
    ReactionAddedNote: NoteFields(ReactionAddedNote, "message_id", "user_id", "emoji", "server_id", "channel_id",
                                  "event_seq"),
    ReactionRemovedNote: NoteFields(ReactionRemovedNote, "message_id", "user_id", "emoji", "server_id",
                                    "channel_id", "event_seq"),
    ReactionsClearedNote: NoteFields(ReactionsClearedNote, "message_id", "server_id", "channel_id", "event_seq"),
}
# The event struct of each NoteFields note decoded from its stored JSON, built from its fields
# in order: a resume builds thousands, and each call in between cost.
_EVENT_OF_JSON = {builder.json: builder.event for builder in CHANGE_EVENTS.values() if isinstance(builder, NoteFields)}
_decode_stored = msgspec.json.Decoder(Union[tuple(_EVENT_OF_JSON)]).decode  # type: ignore[misc]
_fields_of = msgspec.structs.astuple


def change_event(note: ChangeNote, zone: tzinfo) -> Any:
    return CHANGE_EVENTS[type(note)](note, zone)


def change(note: ChangeNote, zone: tzinfo) -> bytes:
    return encode(change_event(note, zone))


def stored_event(payload: bytes, zone: tzinfo) -> bytes:
    """The event's JSON of a change from its stored note (message_change.payload): straight
    from the JSON for a NoteFields event, from the decoded note for any other."""
    try:
        decoded = _decode_stored(payload)
    except msgspec.ValidationError:  # a kind whose event is not its note's fields
        return event_json(change_event(decode_note(payload), zone))
    return event_json(_EVENT_OF_JSON[type(decoded)](*_fields_of(decoded)))


def replayed_change(row, zone: tzinfo, urls: UrlSigner) -> bytes:
    """The frame of a change as list_changes_after reads it (a resume)."""
    return text_frame(replayed_event(row, zone, urls))


def replayed_event(row, zone: tzinfo, urls: UrlSigner) -> bytes:
    """The event's JSON of a change as list_changes_after reads it: any other change's from
    its stored note (payload), a new message's from its columns."""
    payload = row[2]
    return replayed_message(row, zone, urls) if payload is None else stored_event(payload, zone)


def replayed_message(row, zone: tzinfo, urls: UrlSigner) -> bytes:
    """A new message's event straight from list_changes_after's columns, by their order (its
    note was most of what a replayed message cost; its ids come as their text)."""
    (channel_id, event_seq, _, message_id, server_id, user_id, username, text, created_at, seq, nonce, reply_to_id,
     reply_user_id, reply_username, reply_text, reply_deleted, mentions, mention_everyone, mention_here,
     mention_reply, attachments) = row
    event = NewMessage(
        id=message_id, user=username, user_id=user_id, text=text, timestamp=clock_time(created_at, zone),
        created_at=created_at, server_id=server_id, channel_id=channel_id, seq=seq, event_seq=event_seq, nonce=nonce,
        mentions=mentions, mention_everyone=mention_everyone, mention_here=mention_here,
    )
    if reply_to_id is not None:
        event.reply_to = ReplyTo(reply_to_id, reply_user_id, reply_username, reply_text, reply_deleted)
        event.mention_reply = mention_reply
    if attachments:
        event.attachments = urls.signed_files(decode_attachments(attachments))
    return event_json(event)


def typing(note: TypingNote) -> bytes:
    return encode({
        "type": "typing_start" if note.started else "typing_stop",
        "username": note.username, "userId": note.user_id,
        "serverId": note.server_id, "channelId": note.channel_id,
    })


def presence_update(user_id: UUID, status: str) -> bytes:
    return encode({"type": "presence_update", "userId": user_id, "status": status})


def servers_data(servers: Iterable[Server]) -> bytes:
    return encode({"type": "servers_data", "servers": {str(server.id): server for server in servers}})


def member_added(note: MemberAddedNote) -> bytes:
    return encode({
        "type": "member_added", "serverId": note.server_id, "userId": note.user_id,
        "username": note.username, "role": note.role,
    })


def server_joined(server: Server) -> bytes:
    """To the joiner's own sockets: the server as `connected` lists it."""
    return encode({"type": "server_joined", "server": server})


def invite_created(note: InviteCreatedNote) -> bytes:
    """The invite as REST answers it, for the server's ADMINs and MODERATORs."""
    return encode({
        "type": "invite_created", "serverId": note.server_id,
        "invite": Invite(note.code, note.server_id, note.created_by, note.created_at, note.expires_at,
                         note.max_uses, note.uses),
    })


def invite_deleted(note: InviteDeletedNote) -> bytes:
    return encode({"type": "invite_deleted", "serverId": note.server_id, "code": note.code})


def member_removed(note: MemberRemovedNote) -> bytes:
    return encode({"type": "member_removed", "serverId": note.server_id, "userId": note.user_id})


def channel_created(note: ChannelCreatedNote) -> bytes:
    """The channel as REST answers it."""
    return encode({"type": "channel_created", "serverId": note.server_id, "channel": channel_of(note)})


def channel_updated(note: ChannelNote) -> bytes:
    """A rename or a new topic: the whole channel as REST answers it."""
    return encode({"type": "channel_updated", "serverId": note.server_id, "channel": channel_of(note)})


def channel_of(note: ChannelNote) -> Channel:
    return Channel(id=note.id, server_id=note.server_id, name=note.name, type=note.type.lower(),  # type: ignore[arg-type]
                   position=note.position, category_id=note.category_id, topic=note.topic,
                   created_at=note.created_at)


def channel_deleted(server_id: UUID, channel_id: UUID) -> bytes:
    """Live, and to a socket resuming a channel deleted meanwhile."""
    return encode({"type": "channel_deleted", "serverId": server_id, "channelId": channel_id})


def layout_updated(server_id: UUID, layout: Layout) -> bytes:
    """The whole layout, as GET .../layout answers it."""
    return encode({"type": "layout_updated", "serverId": server_id, "layout": layout})


def server_updated(server: ServerProfile) -> bytes:
    """The server as every member sees it (their role is not in it)."""
    return encode({"type": "server_updated", "serverId": server.id, "server": server})


def server_deleted(note: ServerDeletedNote) -> bytes:
    return encode({"type": "server_deleted", "serverId": note.server_id})


def dm_created(dm: DirectMessage) -> bytes:
    """A conversation someone is in now (made, or they were added to it): as GET /chat/dms/{id}."""
    return encode({"type": "dm_created", "dm": dm})


def dm_recipient_added(note: DmRecipientAddedNote) -> bytes:
    return encode({"type": "dm_recipient_added", "dmId": note.dm_id,
                   "user": {"id": note.user_id, "username": note.username}})


def dm_recipient_removed(note: DmRecipientRemovedNote) -> bytes:
    return encode({"type": "dm_recipient_removed", "dmId": note.dm_id, "userId": note.user_id,
                   "ownerId": note.owner_id})


def read_state_updated(note: ReadStateUpdatedNote) -> bytes:
    return encode({
        "type": "read_state_updated", "serverId": note.server_id, "channelId": note.channel_id,
        "lastReadSeq": note.last_read_seq, "unreadCount": note.unread_count, "mentionCount": note.mention_count,
    })


def thread_created(note: ThreadCreatedNote) -> bytes:
    """The thread as GET /chat/threads/{id} answers it (without `following`)."""
    return encode({"type": "thread_created", "serverId": note.server_id, "thread": note.thread})


def thread_updated(note: ThreadStateNote) -> bytes:
    """Whichever change made it (a PATCH, messages, the archive sweep): the thread's state after it."""
    return encode({
        "type": "thread_updated", "serverId": note.server_id, "threadId": note.thread_id, "name": note.name,
        "messageCount": note.message_count, "lastMessageAt": note.last_message_at, "archived": note.archived,
        "locked": note.locked,
    })


def thread_deleted(note: ThreadDeletedNote) -> bytes:
    return encode({"type": "thread_deleted", "serverId": note.server_id, "threadId": note.thread_id,
                   "parentChannelId": note.parent_channel_id})


def notification(kind: str, message_id: UUID, server_id: UUID | None, channel_id: UUID, user_id: UUID,
                 username: str, text: str) -> bytes:
    """A message to tell its recipient of (chatd.domain.notifications): a client raises it for a
    channel that is not open."""
    return encode({"type": "notification", "kind": kind, "messageId": message_id, "channelId": channel_id,
                   "serverId": server_id, "from": {"userId": user_id, "username": username},
                   "preview": text[:PREVIEW_CHARS]})


def notification_settings_updated(note: NotificationSettingsUpdatedNote) -> bytes:
    return encode({"type": "notification_settings_updated", "scope": note.scope, "id": note.target_id,
                   "level": note.level, "mutedUntil": note.muted_until})


def resumed(server_id: UUID | None, channel_id: UUID, seq: int) -> bytes:
    return encode({"type": "resumed", "serverId": server_id, "channelId": channel_id, "seq": seq})


def resumed_channels(cursors: Mapping[UUID, int]) -> bytes:
    """The end of a resume of many channels: each channel's eventSeq, live events after it."""
    return encode({"type": "resumed", "channels": {str(channel_id): seq for channel_id, seq in cursors.items()}})


def resync_required(channel_id: UUID) -> bytes:
    """The changes after the client's cursor are past retention: reload the channel's history."""
    return encode({"type": "resync_required", "channelId": channel_id})


def error(message: str, **extra: Any) -> bytes:
    return encode({"type": "error", "message": message, **extra})


def refused(refusal: Refused, nonce: str | None = None) -> bytes:
    """A domain refusal, as REST would answer it with a status: the same detail, the wait."""
    extra: dict[str, Any] = {}
    if refusal.retry_after is not None:
        extra["retryAfter"] = round(refusal.retry_after, 3)
    if nonce is not None:
        extra["nonce"] = nonce
    return error(refusal.detail, **extra)
