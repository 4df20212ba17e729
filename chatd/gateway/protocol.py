"""The seed's WebSocket events: frames clients send (validated by msgspec) and the frames
chatd sends back (built here, so every event has one shape)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Annotated, Any, Union
from uuid import UUID

import msgspec
from msgspec import Meta

from chatd.domain.notes import MessageNote
from chatd.domain.schemas import MessageText
from chatd.domain.views import clock_time


class Frame(msgspec.Struct, tag_field="type"):
    """A client frame; `type` picks the struct. Unknown extra fields are ignored."""


class SendMessage(Frame, tag="send_message"):
    serverId: UUID
    channelId: UUID
    text: MessageText
    nonce: Annotated[str, Meta(max_length=64)] | None = None


class TypingStart(Frame, tag="typing_start"):
    serverId: UUID
    channelId: UUID


class TypingStop(Frame, tag="typing_stop"):
    serverId: UUID
    channelId: UUID


class GetServers(Frame, tag="get_servers"):
    pass


class Resume(Frame, tag="resume"):
    serverId: UUID
    channelId: UUID
    afterSeq: Annotated[int, Meta(ge=0)]


class Identify(Frame, tag="identify"):
    token: str


ClientFrame = Union[SendMessage, TypingStart, TypingStop, GetServers, Resume, Identify]
_decoder = msgspec.json.Decoder(ClientFrame)
_encoder = msgspec.json.Encoder()


class BadFrame(ValueError):
    """The frame cannot be understood; the message is safe to show the client."""


def decode_frame(data: str | bytes) -> Frame:
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError as error:
        text = str(error)
        if "`$.type`" in text and text.startswith("Invalid value"):
            raise BadFrame(f"unknown event type {text.split(' - ')[0].removeprefix('Invalid value ')}") from None
        raise BadFrame(f"invalid {_type_of(data)}frame: {text}") from None
    except msgspec.DecodeError:
        raise BadFrame("frames must be JSON objects") from None


def _type_of(data: str | bytes) -> str:
    """Name the event type in an error when the frame says which it was."""
    try:
        kind = msgspec.json.decode(data).get("type")
    except (msgspec.DecodeError, AttributeError):
        return ""
    return f"{kind} " if isinstance(kind, str) and len(kind) <= 32 else ""


def encode(event: dict[str, Any]) -> bytes:
    """An event as a complete WebSocket text frame, ready for any socket's transport.

    Server frames are unmasked and chatd does not compress, so one frame's bytes serve every
    recipient: a broadcast is encoded and framed once, then written as is.
    """
    return text_frame(_encoder.encode(event))


def text_frame(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


def close_frame(code: int, reason: bytes) -> bytes:
    """A close frame to write behind already buffered frames (reason at most 123 bytes)."""
    payload = code.to_bytes(2, "big") + reason
    return bytes((0x88, len(payload))) + payload


def frame_payload(frame: bytes) -> memoryview:
    """The payload of a frame built by text_frame, without copying it."""
    marker = frame[1]
    return memoryview(frame)[2 if marker < 126 else 4 if marker == 126 else 10:]


def error_event(message: str, **extra: Any) -> bytes:
    return encode({"type": "error", "message": message, **extra})


def message_event(note: MessageNote, zone: tzinfo) -> bytes:
    """new_message: the seed's fields, plus userId, createdAt, seq and the sender's nonce."""
    frame = {
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
    }
    if note.nonce is not None:
        frame["nonce"] = note.nonce
    return encode(frame)
