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
    position: Annotated[int, Meta(ge=0, le=1_000_000, description=(
        "its place in its category (0: first); the channels from there on move down by one. "
        "Past the end, or left out: at the end"))] | None = None
    category_id: Annotated[UUID | None, Meta(description="a category of the server; null: uncategorized")] = None


MAX_TOPIC = 1024
Topic = Annotated[str, Meta(max_length=MAX_TOPIC, pattern=NO_NUL,
                            description="up to 1,024 characters; blank or null clears it")]


class ChannelChange(Body):
    """What to change; a field left out stays as it is."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    topic: Topic | None | msgspec.UnsetType = msgspec.UNSET


class ServerChange(Body):
    """What to change; a field left out stays as it is."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    icon: Annotated[str, Meta(max_length=2048, pattern=NO_NUL)] | None | msgspec.UnsetType = msgspec.UNSET


class NewCategory(Body):
    name: Name


class CategoryPlace(Body):
    """A category in a layout being put: its place is its place in the list (`name` and
    `position`, as GET answers them, may come back and are not read)."""

    id: UUID
    channel_ids: Annotated[list[UUID], Meta(max_length=2000, description="its channels, in order")]
    name: str | None = None
    position: int | None = None


class LayoutChange(Body):
    version: Annotated[int, Meta(ge=0, le=2**63 - 1, description="the layout's version this edit is based on")]
    categories: Annotated[list[CategoryPlace], Meta(max_length=500, description="every category, in order")]
    uncategorized: Annotated[list[UUID], Meta(max_length=2000, description="the channels in no category, in order")]


MAX_ATTACHMENTS = 10
# A client's id for a send, so that a resend stores nothing twice (REST and the gateway alike).
Nonce = Annotated[str, Meta(max_length=64, pattern=NO_NUL)]


class NewMessage(Body):
    text: Annotated[MessageText, Meta(description="1-4000 characters after stripping; may be empty with attachments")] = ""
    attachment_ids: Annotated[list[UUID], Meta(max_length=MAX_ATTACHMENTS, description=(
        "up to 10 of the sender's own uploads to this channel (POST .../attachments), not yet attached"))] = []
    nonce: Nonce | None = None
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


class ServerProfile(msgspec.Struct):
    """A server as every member sees it (server_updated)."""

    id: UUID
    name: str
    icon: str | None
    creator_id: UUID
    created_by: UUID
    created_at: datetime


class Server(ServerProfile):
    """A server as one member sees it: with their role."""

    role: Role


class Channel(msgspec.Struct):
    id: UUID
    server_id: UUID
    name: str
    type: ChannelTypeOut
    position: Annotated[int, Meta(description="its place in its category (or among the uncategorized), from 0")]
    category_id: Annotated[UUID | None, Meta(description="null: uncategorized")]
    topic: str | None
    created_at: datetime


class Category(msgspec.Struct):
    id: UUID
    name: str
    position: int
    channel_ids: Annotated[list[UUID], Meta(description="its channels, in order")]


class Layout(msgspec.Struct):
    version: Annotated[int, Meta(description="moves on with every change of the layout: PUT names the one it is based on")]
    categories: Annotated[list[Category], Meta(description="in order")]
    uncategorized: Annotated[list[UUID], Meta(description="the channels in no category, in order; listed first")]


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


class ThreadSummary(msgspec.Struct):
    """The thread started on a message, as history shows it on its root."""

    id: UUID
    name: str
    message_count: Annotated[int, Meta(description="its messages not deleted")]
    last_message_at: Annotated[datetime, Meta(description="its last activity (its creation, then each message)")]


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
    thread: Annotated[ThreadSummary | None, Meta(description="the thread started on this message, if any")]
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


# Threads: a thread is a channel of type `thread` started on a message of a TEXT channel.
ArchiveMinutes = Annotated[Literal[60, 1440, 4320, 10080],
                           Meta(description="archived after this many minutes without a message")]
ThreadName = Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL,
                                 description="1-100 characters after stripping")]


class NewThread(Body):
    name: ThreadName
    auto_archive_minutes: ArchiveMinutes = 1440


class ThreadChange(Body):
    """What is given changes: `name` and `archived` (its creator, MODERATORs, ADMINs), `locked`
    (MODERATORs and ADMINs)."""

    name: ThreadName | None = None
    archived: bool | None = None
    locked: bool | None = None


class Thread(msgspec.Struct):
    id: Annotated[UUID, Meta(description="its channel id: every channel route and event takes it")]
    type: Literal["thread"]
    server_id: UUID
    parent_channel_id: UUID
    root_message_id: UUID
    name: str
    created_by: Annotated[UUID | None, Meta(description="null once that account is gone")]
    created_at: datetime
    archived: bool
    locked: Annotated[bool, Meta(description="only MODERATORs and ADMINs post in it")]
    auto_archive_minutes: int
    message_count: Annotated[int, Meta(description="its messages not deleted")]
    last_message_at: Annotated[datetime, Meta(description="its last activity (its creation, then each message)")]
    root_deleted: Annotated[bool, Meta(description="its root message was deleted (the thread stands)")]


class FollowedThread(Thread):
    following: Annotated[bool, Meta(description="whether the caller follows it (unread counts are followers' only)")]

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
