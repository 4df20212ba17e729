"""Request and response bodies. The same types validate requests and generate /openapi.json,
so the document and the behaviour cannot disagree."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

Role = Literal["ADMIN", "MODERATOR", "MEMBER"]
Username = Annotated[
    str,
    Meta(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$",
         description="2-32 letters, digits, `_`, `.` or `-`"),
]
Password = Annotated[str, Meta(min_length=8, max_length=256)]
# PostgreSQL text cannot hold U+0000: refused here as a 400 that names the field, not at
# the INSERT as a 500.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)]
# The seed stores TEXT/VOICE; clients send either case and read lower case back.
ChannelTypeIn = Annotated[
    str, Meta(pattern=r"^([Tt][Ee][Xx][Tt]|[Vv][Oo][Ii][Cc][Ee])$", description="text or voice, any case")
]
ChannelTypeOut = Literal["text", "voice"]
MAX_TEXT = 4000
# Raw text may carry surrounding whitespace that is stripped; the stripped length is checked.
MessageText = Annotated[
    str, Meta(max_length=4 * MAX_TEXT, pattern=NO_NUL, description="1-4000 characters after stripping")
]


class Body(msgspec.Struct, forbid_unknown_fields=True):
    """Request bodies reject fields they do not know, so typos are errors, not silence."""


class Credentials(Body):
    username: Username
    password: Password


class Login(Body):
    """Any name and password: one that breaks the sign-up rules is simply a wrong login (401),
    not a 400 that tells the rules apart from the accounts."""

    username: Annotated[str, Meta(pattern=NO_NUL)]
    password: str


class Signup(Body):
    username: Username
    password: Password
    email: Annotated[str, Meta(max_length=254, pattern=NO_NUL)] | None = None


class NewServer(Body):
    name: Name
    icon: Annotated[str, Meta(max_length=2048, pattern=NO_NUL)] | None = None


class NewChannel(Body):
    name: Name
    type: ChannelTypeIn = "TEXT"
    position: Annotated[int, Meta(ge=0, le=1_000_000)] | None = None


MAX_ATTACHMENTS = 10


class NewMessage(Body):
    text: Annotated[MessageText, Meta(description="1-4000 characters after stripping; may be empty with attachments")] = ""
    attachment_ids: Annotated[list[UUID], Meta(max_length=MAX_ATTACHMENTS, description=(
        "up to 10 of the sender's own uploads to this channel (POST .../attachments), not yet attached"))] = []
    nonce: Annotated[str, Meta(max_length=64, pattern=NO_NUL)] | None = None
    reply_to: Annotated[UUID | None, Meta(description="a message of the same channel this one replies to")] = None
    mention_reply: Annotated[bool, Meta(description="a reply mentions the author it replies to (false: not)")] = True


class MessageEdit(Body):
    text: MessageText


class BulkDeletion(Body):
    ids: Annotated[list[UUID], Meta(min_length=1, max_length=100,
                                    description="1-100 distinct messages of the channel; deleted ones are skipped")]


class NewMember(Body):
    """Name the user by id or by username (what a person types)."""

    user_id: UUID | None = None
    username: Username | None = None
    role: Role = "MEMBER"


class RoleChange(Body):
    role: Role


MAX_INVITE_AGE = 30 * 86400
MAX_INVITE_USES = 100_000


class NewInvite(Body):
    max_age_seconds: Annotated[int, Meta(ge=0, le=MAX_INVITE_AGE,
                                         description="seconds until it expires (at most 30 days); 0: never")] = 7 * 86400
    max_uses: Annotated[int, Meta(ge=0, le=MAX_INVITE_USES, description="how many may join by it; 0: unlimited")] = 0


class NewBan(Body):
    reason: Annotated[str, Meta(max_length=512, pattern=NO_NUL)] | None = None


class NewDm(Body):
    recipient_ids: Annotated[list[UUID], Meta(
        min_length=1, max_length=9,
        description="one user: the 1:1 conversation with them (found or made); 2-9: a new group, you its owner")]


class PasswordChange(Body):
    """The current password (any string: a wrong one is 403) and a new one under the sign-up rules."""

    old_password: str
    new_password: Password


class AccountDeletion(Body):
    password: str


class User(msgspec.Struct):
    user_id: UUID
    username: str


class Signedup(msgspec.Struct):
    message: str
    user_id: UUID
    username: str


class Token(msgspec.Struct):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


class Server(msgspec.Struct):
    id: UUID
    name: str
    icon: str | None
    creator_id: UUID
    created_by: UUID
    created_at: datetime
    role: Role


class Channel(msgspec.Struct):
    id: UUID
    server_id: UUID
    name: str
    type: ChannelTypeOut
    position: int
    created_at: datetime


class ReplyPreview(msgspec.Struct):
    """The message replied to: its text cut at 200 characters, empty once it is deleted."""

    id: UUID
    user_id: UUID
    user: str
    text: str
    deleted: bool


class Reaction(msgspec.Struct):
    emoji: Annotated[str, Meta(description="one emoji, fully qualified")]
    count: Annotated[int, Meta(description="how many reacted with it")]
    me: Annotated[bool, Meta(description="whether the caller is one of them")]


class Reactor(msgspec.Struct):
    user_id: UUID
    username: str


class Message(msgspec.Struct):
    id: UUID
    server_id: Annotated[UUID | None, Meta(description="null in a conversation (DM)")]
    channel_id: UUID
    user_id: UUID
    user: str
    text: str
    timestamp: Annotated[str, Meta(description='UTC wall-clock time, as "12:30 PM"')]
    created_at: datetime
    seq: Annotated[int, Meta(description="position in the channel: increases by one per message, in commit order")]
    event_seq: Annotated[int, Meta(description="position in the channel's change stream (see /changes)")]
    edited_at: datetime | None
    reply_to: ReplyPreview | None
    reactions: Annotated[list[Reaction], Meta(description="each emoji in the order it was first used")]
    mentions: Annotated[list[UUID], Meta(description="members mentioned by <@id> or @username")]
    mention_everyone: Annotated[bool, Meta(description="@everyone, by a MODERATOR or ADMIN")]
    attachments: Annotated[list[Attachment], Meta(description="its files, in upload order")]


class UploadedFile(msgspec.Struct):
    """An upload, until a message attaches it (it is deleted if none does in CHATD_UPLOAD_TTL)."""

    id: UUID
    filename: str
    content_type: Annotated[str, Meta(description="detected from the bytes, not taken from the client")]
    size: int
    width: Annotated[int | None, Meta(description="images only")]
    height: Annotated[int | None, Meta(description="images only")]


class Attachment(UploadedFile):
    url: Annotated[str, Meta(description="a signed link, valid for an hour (GET /attachments/...)")]


class EarlierVersion(msgspec.Struct):
    """A message's text before an edit: written at `written_at` (sent, or the edit before),
    replaced at `replaced_at`."""

    text: str
    written_at: datetime
    replaced_at: datetime


class Member(msgspec.Struct):
    user_id: UUID
    username: str
    role: Role
    joined_at: datetime


class Invite(msgspec.Struct):
    code: str
    server_id: UUID
    created_by: UUID
    created_at: datetime
    expires_at: Annotated[datetime | None, Meta(description="null: never expires")]
    max_uses: Annotated[int | None, Meta(description="null: unlimited")]
    uses: int


class InvitePreview(msgspec.Struct):
    """What anyone holding a code sees of the server before joining."""

    code: str
    server_id: UUID
    name: str
    icon: str | None
    member_count: int
    expires_at: datetime | None


class Ban(msgspec.Struct):
    user_id: UUID
    username: str
    reason: str | None
    banned_by: Annotated[UUID | None, Meta(description="null once that account is gone")]
    created_at: datetime


# Presence: what a user sets, and what others see (`offline`: no socket anywhere, or invisible).
Status = Literal["online", "idle", "dnd", "invisible"]
ShownStatus = Literal["online", "idle", "dnd", "offline"]


class Recipient(msgspec.Struct):
    id: UUID
    username: str
    presence: Annotated[ShownStatus, Meta(description="as others see them (migration 0019)")]


class DirectMessage(msgspec.Struct):
    """A conversation as its people see it (dm_json, migration 0016)."""

    id: Annotated[UUID, Meta(description="its channel id: the dm_id of its routes, the channelId of its events")]
    type: Literal["dm", "group_dm"]
    owner_id: Annotated[UUID | None, Meta(description="who adds and removes people of a group; null for a 1:1")]
    created_at: datetime
    last_message_at: datetime | None
    recipients: Annotated[list[Recipient], Meta(description="everyone in it, the caller too, longest present first")]


class Block(msgspec.Struct):
    user_id: UUID
    username: str
    created_at: datetime


# A seq as PostgreSQL's bigint holds it: a larger one would fail to bind, and no channel has one.
Seq = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class Ack(Body):
    seq: Annotated[Seq, Meta(description="the last message read: the pointer moves here unless it is further already")]


class ReadStateChange(Body):
    last_read_seq: Annotated[Seq, Meta(description="the last message read (0: none); may move the pointer back")]


class ReadState(msgspec.Struct):
    """Where the caller has read a channel up to, and what is unread after it: messages by
    others, not deleted (`mention_count`: those that mention the caller)."""

    server_id: Annotated[UUID | None, Meta(description="null for a conversation (DM)")]
    channel_id: UUID
    last_read_seq: int
    last_seq: int
    unread_count: int
    mention_count: int


class Problem(msgspec.Struct):
    detail: str


class Health(msgspec.Struct):
    status: str


class SearchHit(Message):
    snippet: Annotated[str, Meta(description="the text HTML-escaped, each match in <mark>...</mark>")]


class SearchPage(msgspec.Struct):
    results: list[SearchHit]
    next_cursor: Annotated[str | None, Meta(description="pass as `cursor` for the next page; null: no more")]


class PresenceBody(Body):
    status: Status


class MemberPresence(msgspec.Struct):
    user_id: UUID
    username: str
    status: ShownStatus


NotificationLevel = Annotated[Literal["all", "mentions", "none"], Meta(
    description="all: every message; mentions: mentions and replies to you; none: nothing")]
NOTIFICATION_SCOPES = ("server", "channel", "dm")


class NotificationSettingChange(Body):
    level: NotificationLevel
    muted_until: Annotated[datetime, Meta(tz=True, description="silent until then (null: not muted)")] | None = None


class NotificationSetting(msgspec.Struct):
    """What the caller hears of a server, a channel or a conversation. Without one: `all` in
    conversations, `mentions` in server channels; a channel's overrides its server's level."""

    scope: Annotated[str, Meta(description="server, channel or dm")]
    id: UUID
    level: NotificationLevel
    muted_until: datetime | None
