"""Frames clients send: one msgspec struct per `type`, validated as they are decoded.

The Session routes each struct to its handler (chatd.gateway.session); what chatd sends back is
built in chatd.gateway.outbound."""

from __future__ import annotations

from typing import Annotated, Union
from uuid import UUID

import msgspec
from msgspec import Meta

from chatd.domain.errors import BadInput
from chatd.domain.schemas import MAX_ATTACHMENTS, MessageText, Nonce, Seq, Status


class Frame(msgspec.Struct, tag_field="type"):
    """A client frame; `type` picks the struct. Unknown extra fields are ignored."""


class SendMessage(Frame, tag="send_message"):
    """Without `serverId`: into the conversation (DM) `channelId`."""

    channelId: UUID
    text: MessageText = ""
    serverId: UUID | None = None
    nonce: Nonce | None = None
    replyTo: UUID | None = None
    mentionReply: bool = True  # a reply mentions the author it replies to
    attachmentIds: Annotated[list[UUID], Meta(max_length=MAX_ATTACHMENTS)] = []


class EditMessage(Frame, tag="edit_message"):
    """As PATCH .../messages/{messageId} (without `serverId`: a conversation's message). No
    answer of its own: the edit reaches this socket as message_updated, as it reaches every
    reader; a refusal is an `error` event with the nonce."""

    channelId: UUID
    messageId: UUID
    text: MessageText
    serverId: UUID | None = None
    nonce: Nonce | None = None


class TypingStart(Frame, tag="typing_start"):
    """Without `serverId`: in the conversation `channelId`."""

    channelId: UUID
    serverId: UUID | None = None


class TypingStop(Frame, tag="typing_stop"):
    channelId: UUID
    serverId: UUID | None = None


class Ack(Frame, tag="ack"):
    """The channel (or conversation) read up to `seq`."""

    channelId: UUID
    seq: Seq
    serverId: UUID | None = None  # None: a conversation


class GetServers(Frame, tag="get_servers"):
    pass


MAX_RESUME_CHANNELS = 1000  # what fits the 64 KiB frame limit; a client with more sends several


class Resume(Frame, tag="resume"):
    """Every change after each channel's eventSeq (`channels`: channels of servers and
    conversations alike); or, the original form, one channel's messages after `afterSeq`
    (without `serverId`: a conversation's)."""

    channels: Annotated[dict[UUID, Annotated[int, Meta(ge=0)]], Meta(max_length=MAX_RESUME_CHANNELS)] | None = None
    serverId: UUID | None = None
    channelId: UUID | None = None
    afterSeq: Annotated[int, Meta(ge=0)] | None = None

    def __post_init__(self) -> None:
        if self.channels is None and None in (self.channelId, self.afterSeq):
            raise ValueError("a resume names `channels`, or `serverId`, `channelId` and `afterSeq` (no `serverId` "
                             "for a conversation)")


class Identify(Frame, tag="identify"):
    token: str


class PresenceUpdate(Frame, tag="presence_update"):
    status: Status


ClientFrame = Union[SendMessage, EditMessage, TypingStart, TypingStop, Ack, GetServers, Resume, Identify,
                    PresenceUpdate]
_decoder = msgspec.json.Decoder(ClientFrame)


class BadFrame(BadInput):
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
