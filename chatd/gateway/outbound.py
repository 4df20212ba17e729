"""Every event chatd sends a client, each built by one function here, whatever the path (live
fan-out, resume, catch-up, the answer to a resend): an event has one shape.

Events named by the product spec keep its fields (and its snake_case where it has them);
chatd's additions are camelCase like the spec's WebSocket fields. Each returns a complete
frame (chatd.gateway.framing), encoded once and written to any number of sockets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from typing import Any
from uuid import UUID

from chatd.domain.errors import Refused
from chatd.domain.notes import (
    ChangeNote, ChannelCreatedNote, MemberAddedNote, MemberRemovedNote, MessageDeletedNote, MessageNote,
    MessagesDeletedNote, MessageUpdatedNote, ReactionAddedNote, ReactionRemovedNote, ReactionsClearedNote, ReplyNote,
    ServerDeletedNote, TypingNote,
)
from chatd.domain.schemas import Server, User
from chatd.domain.views import clock_time
from chatd.gateway.framing import encode


def connected(user: User, servers: list[Server], heartbeat_seconds: float) -> bytes:
    return encode({
        "type": "connected", "message": "Connected to chat server", "user_id": user.user_id,
        "username": user.username, "servers": servers, "heartbeatInterval": int(heartbeat_seconds * 1000),
    })


def new_message_event(note: MessageNote, zone: tzinfo) -> dict[str, Any]:
    """The spec's fields, plus userId, createdAt, seq, eventSeq, the sender's nonce and what
    it replies to."""
    event = {
        "type": "new_message",
        "id": note.id,
        "user": note.username,
        "userId": note.user_id,
        "text": note.text,
        "timestamp": clock_time(note.created_at, zone),
        "createdAt": note.created_at,
        "serverId": note.server_id,
        "channelId": note.channel_id,
        "seq": note.seq,
        "eventSeq": note.event_seq,
    }
    if note.nonce is not None:
        event["nonce"] = note.nonce
    if note.reply_to is not None:
        event["replyTo"] = reply_to(note.reply_to)
    return event


def reply_to(reply: ReplyNote) -> dict[str, Any]:
    return {"id": reply.id, "userId": reply.user_id, "user": reply.username, "text": reply.text,
            "deleted": reply.deleted}


def new_message(note: MessageNote, zone: tzinfo) -> bytes:
    return encode(new_message_event(note, zone))


def message_updated_event(note: MessageUpdatedNote, zone: tzinfo) -> dict[str, Any]:
    return {"type": "message_updated", "id": note.id, "serverId": note.server_id, "channelId": note.channel_id,
            "text": note.text, "editedAt": note.edited_at, "eventSeq": note.event_seq}


def message_deleted_event(note: MessageDeletedNote, zone: tzinfo) -> dict[str, Any]:
    return {"type": "message_deleted", "id": note.id, "serverId": note.server_id, "channelId": note.channel_id,
            "eventSeq": note.event_seq}


def messages_deleted_event(note: MessagesDeletedNote, zone: tzinfo) -> dict[str, Any]:
    return {"type": "messages_deleted", "ids": note.ids, "serverId": note.server_id, "channelId": note.channel_id,
            "eventSeq": note.event_seq}


def reaction_event(note: ReactionAddedNote | ReactionRemovedNote, zone: tzinfo) -> dict[str, Any]:
    """reaction_added and reaction_removed: the same fields, the kind says which."""
    return {"type": note.__struct_config__.tag, "messageId": note.message_id, "userId": note.user_id,
            "emoji": note.emoji, "serverId": note.server_id, "channelId": note.channel_id,
            "eventSeq": note.event_seq}


def reactions_cleared_event(note: ReactionsClearedNote, zone: tzinfo) -> dict[str, Any]:
    return {"type": "reactions_cleared", "messageId": note.message_id, "serverId": note.server_id,
            "channelId": note.channel_id, "eventSeq": note.event_seq}


# The event of each kind of change, by note type: live fan-out, resume and GET .../changes all
# build a change's event here. `zone` is the recipient's time zone, for events with a clock time.
CHANGE_EVENTS: dict[type[ChangeNote], Callable[[Any, tzinfo], dict[str, Any]]] = {
    MessageNote: new_message_event,
    MessageUpdatedNote: message_updated_event,
    MessageDeletedNote: message_deleted_event,
    MessagesDeletedNote: messages_deleted_event,
    ReactionAddedNote: reaction_event,
    ReactionRemovedNote: reaction_event,
    ReactionsClearedNote: reactions_cleared_event,
}


def change_event(note: ChangeNote, zone: tzinfo) -> dict[str, Any]:
    return CHANGE_EVENTS[type(note)](note, zone)


def change(note: ChangeNote, zone: tzinfo) -> bytes:
    return encode(change_event(note, zone))


def changes(notes: Iterable[ChangeNote], zone: tzinfo) -> list[bytes]:
    """The frames of many changes (a replay): `change` of each, without a call per layer."""
    builders = CHANGE_EVENTS
    return [encode(builders[type(note)](note, zone)) for note in notes]


def typing(note: TypingNote) -> bytes:
    return encode({
        "type": "typing_start" if note.started else "typing_stop",
        "username": note.username, "userId": note.user_id,
        "serverId": note.server_id, "channelId": note.channel_id,
    })


def servers_data(servers: Iterable[Server]) -> bytes:
    return encode({"type": "servers_data", "servers": {str(server.id): server for server in servers}})


def member_added(note: MemberAddedNote) -> bytes:
    return encode({
        "type": "member_added", "serverId": note.server_id, "userId": note.user_id,
        "username": note.username, "role": note.role,
    })


def member_removed(note: MemberRemovedNote) -> bytes:
    return encode({"type": "member_removed", "serverId": note.server_id, "userId": note.user_id})


def channel_created(note: ChannelCreatedNote) -> bytes:
    """The channel as the first clients knew it: REST's Channel without created_at."""
    return encode({
        "type": "channel_created", "serverId": note.server_id,
        "channel": {"id": note.id, "server_id": note.server_id, "name": note.name,
                    "type": note.type.lower(), "position": note.position},
    })


def server_deleted(note: ServerDeletedNote) -> bytes:
    return encode({"type": "server_deleted", "serverId": note.server_id})


def resumed(server_id: UUID, channel_id: UUID, seq: int) -> bytes:
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
