"""The only place that says yes or no.

Each rule is a plain function over what is known (roles, a channel's type, how many ADMINs
remain) that returns or raises; each `require_*` reads those facts with one query and applies
its rule. Non-members get 404 for a server and everything under it, never a hint that it
exists; members lacking a role get 403 naming the role needed. A direct message (DM) is a
channel without a server (server_id None): its people read it as MEMBERs, nobody moderates it,
and anyone else gets 404 for it and everything in it.

The send rule is also written into the statement that stores messages (insert_message_batch in
sql/messages.sql), so it holds at the moment of the insert; tests/test_permissions.py checks
that the statement and check_send agree on every role and kind of channel, DMs included.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import NamedTuple
from uuid import UUID

from chatd import keys
from chatd.domain.errors import BadInput, Conflict, Forbidden, NotFound
from chatd.domain.schemas import User

RANK = {"MEMBER": 0, "MODERATOR": 1, "ADMIN": 2}
SERVER_NOT_FOUND = "server not found"
CHANNEL_NOT_FOUND = "channel not found"
MESSAGE_NOT_FOUND = "message not found"
VOICE_HAS_NO_MESSAGES = "this is a VOICE channel: it has no messages"
LAST_ADMIN = "the last ADMIN cannot leave or be demoted; make someone else ADMIN first"
DM_NOT_FOUND = "conversation not found"
INVITE_NOT_FOUND = "invite not found"  # unknown, expired, used up or revoked: one answer
BANNED = "you are banned from this server"
DM_NOT_FOUND = "conversation not found"
USER_NOT_FOUND = "user not found"
UNREACHABLE = "you cannot message this user"  # a block, either way: it says no more than that
MAX_DM_PEOPLE = 10  # in a group conversation, its owner included
MESSAGE_TYPES = ("TEXT", "DM", "GROUP_DM")  # insert_message_batch says the same in SQL


# The rules.

def check_role(role: str, needed: str, action: str) -> None:
    if RANK[role] < RANK[needed]:
        who = "an ADMIN" if needed == "ADMIN" else "a MODERATOR or ADMIN"
        raise Forbidden(f"only {who} can {action}")


def takes_messages(channel_type: str) -> bool:
    """TEXT channels and conversations (1:1 and group) take messages; VOICE channels do not."""
    return channel_type in MESSAGE_TYPES


def check_channel(role: str | None, channel_type: str | None, in_dm: bool = False) -> str:
    """A channel of a server the caller is in, or a DM they are in (`in_dm`): its type. `role`
    None: not a member (not one of the DM's people); `channel_type` None: no such channel in
    that server."""
    if role is None:
        raise NotFound(DM_NOT_FOUND if in_dm else SERVER_NOT_FOUND)
    if channel_type is None:
        raise NotFound(CHANNEL_NOT_FOUND)
    return channel_type


def check_send(role: str | None, channel_type: str | None, in_dm: bool = False, strangers: bool = False,
               blocked: bool = False) -> None:
    """Any member may send, in the server's TEXT channels only; anyone in a conversation may
    send into it, unless, in a 1:1, the other one shares no server with them (`strangers`) or
    either has blocked the other (`blocked`)."""
    if not takes_messages(check_channel(role, channel_type, in_dm)):
        raise BadInput("this is a VOICE channel: only TEXT channels take messages")
    check_reachable(strangers, blocked)


def check_reachable(strangers: bool, blocked: bool) -> None:
    """Users write to each other when they share a server, unless either blocked the other."""
    if strangers:
        raise Forbidden("you share no server with this user")
    if blocked:
        raise Forbidden(UNREACHABLE)


def check_typing(role: str | None, channel_type: str | None, in_dm: bool = False) -> None:
    """Typing indicators go where messages go: TEXT channels and conversations."""
    if not takes_messages(check_channel(role, channel_type, in_dm)):
        raise BadInput("this is a VOICE channel: typing indicators are for TEXT channels")


class MessageFacts(NamedTuple):
    """What the rules about one message need (get_message_access), each None when not known:
    `role` None: the caller is not a member; `channel_type` None: no such channel in that
    server; `author_id` None: no such message in that channel."""

    role: str | None
    channel_type: str | None
    author_id: UUID | None
    deleted: bool
    age: timedelta | None  # since it was sent
    in_dm: bool = False  # the channel is a conversation, where nobody moderates

    @classmethod
    def of(cls, row, in_dm: bool = False) -> MessageFacts:
        """From get_message_access's row (None: the caller is not a member, or not in the DM)."""
        if row is None:
            return cls(None, None, None, False, None, in_dm)
        return cls(row["role"], row["channel_type"], row["author_id"], row["deleted"], row["age"], in_dm)


def check_message(facts: MessageFacts) -> str:
    """A message that can still change: in a TEXT channel of a server the caller is in, or in
    a conversation they are in, not deleted (a deleted message is not there for anyone).
    Returns the caller's role."""
    if not takes_messages(check_channel(facts.role, facts.channel_type, facts.in_dm)):
        raise BadInput(VOICE_HAS_NO_MESSAGES)
    if facts.author_id is None or facts.deleted:
        raise NotFound(MESSAGE_NOT_FOUND)
    return facts.role


def check_edit(user: User, facts: MessageFacts, window: timedelta | None) -> None:
    """Only the author edits, and only within `window` of sending (None: at any age)."""
    check_message(facts)
    if facts.author_id != user.user_id:
        raise Forbidden("only the author can edit a message")
    if window is not None and facts.age is not None and facts.age > window:
        raise Forbidden(f"a message can be edited for {duration_text(window)} after sending")


def check_delete(user: User, facts: MessageFacts) -> None:
    """The author deletes their own message; MODERATORs and ADMINs anyone's (in a server)."""
    role = check_message(facts)
    if facts.author_id != user.user_id:
        check_moderator(role, facts.in_dm, "delete another user's message")


def check_read_edits(user: User, facts: MessageFacts) -> None:
    """Earlier versions are for the author, and for MODERATORs and ADMINs, who may judge an edit."""
    role = check_message(facts)
    if facts.author_id != user.user_id:
        check_moderator(role, facts.in_dm, "see the earlier versions of another user's message")


def check_moderator(role: str, in_dm: bool, action: str) -> None:
    """What MODERATORs and ADMINs may do in a server, nobody does in a conversation."""
    if in_dm:
        raise Forbidden(f"nobody can {action} in a conversation")
    check_role(role, "MODERATOR", action)


def check_bulk_delete(role: str | None, channel_type: str | None, ids: list[UUID], found: int,
                      in_dm: bool = False) -> None:
    """MODERATORs and ADMINs delete many messages of one TEXT channel at once: distinct ids,
    each naming a message of that channel (`found` of them do)."""
    if not takes_messages(check_channel(role, channel_type, in_dm)):
        raise BadInput(VOICE_HAS_NO_MESSAGES)
    check_moderator(role, in_dm, "bulk-delete messages")
    if len(set(ids)) < len(ids):
        raise BadInput("ids must not repeat an id")
    if found < len(ids):
        missing = len(ids) - found
        raise BadInput(f"ids must all be messages of this channel: {missing} of them {'is' if missing == 1 else 'are'} not")


def duration_text(duration: timedelta) -> str:
    """A duration as CHATD_EDIT_WINDOW spells it: 90s, 15m, 12h, 30d."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def check_remove_reaction(user: User, facts: MessageFacts, target_id: UUID | None) -> None:
    """Anyone removes their own reactions; MODERATORs and ADMINs anyone's, or all of a
    message's (`target_id` None)."""
    role = check_message(facts)
    if target_id != user.user_id:
        check_moderator(role, facts.in_dm, "remove others' reactions")


def check_read_state(channel_type: str | None, last_seq: int, seq: int) -> None:
    """A reader moves their pointer in a channel they read that takes messages, to a message it
    has (0: before the first). `channel_type` None: the caller does not read such a channel."""
    if channel_type is None:
        raise NotFound(CHANNEL_NOT_FOUND)
    if channel_type == "VOICE":
        raise BadInput(VOICE_HAS_NO_MESSAGES)
    if seq > last_seq:
        raise BadInput(f"seq {seq} is beyond the channel's last message ({last_seq})")


def check_add_member(actor_role: str, new_role: str) -> None:
    """ADMINs add anyone with any role; MODERATORs add MEMBERs; MEMBERs add no one."""
    if actor_role == "MEMBER":
        raise Forbidden("only a MODERATOR or ADMIN can add members")
    if actor_role == "MODERATOR" and new_role != "MEMBER":
        raise Forbidden(f"only an ADMIN can add a member as {new_role}")


def check_remove_member(actor: User, actor_role: str, target_id: UUID, target_role: str) -> None:
    """Anyone may leave; ADMINs remove anyone; MODERATORs remove MEMBERs only."""
    if target_id == actor.user_id or actor_role == "ADMIN":
        return
    if actor_role == "MEMBER":
        raise Forbidden("only a MODERATOR or ADMIN can remove members")
    if target_role != "MEMBER":
        article = "an" if target_role == "ADMIN" else "a"
        raise Forbidden(f"only an ADMIN can remove {article} {target_role}")


def check_ban(actor: User, actor_role: str, target_id: UUID, target_role: str | None) -> None:
    """ADMINs ban anyone else; MODERATORs ban MEMBERs (and users not in the server) but no
    MODERATOR or ADMIN. `target_role` None: the target is not a member."""
    if target_id == actor.user_id:
        raise BadInput("you cannot ban yourself")
    check_role(actor_role, "MODERATOR", "ban members")
    if actor_role == "MODERATOR" and target_role in ("MODERATOR", "ADMIN"):
        article = "an" if target_role == "ADMIN" else "a"
        raise Forbidden(f"only an ADMIN can ban {article} {target_role}")


def check_search_filter(reads: bool, server_id: UUID | None, dm: bool) -> None:
    """A search filter names a channel the caller reads now (`reads`), or with `dm` a DM
    (`server_id` None) they are in; anything else is the same 404 as everywhere."""
    if not reads or (dm and server_id is not None):
        raise NotFound(DM_NOT_FOUND if dm else CHANNEL_NOT_FOUND)


class InviteFacts(NamedTuple):
    """What accepting an invite depends on (get_invite_access); no row: no such code."""

    server_id: UUID
    open: bool  # not expired, revoked or used up
    member: bool  # the caller is in the server already
    banned: bool


def check_accept(facts: InviteFacts | None) -> bool:
    """Anyone not banned joins by an open invite: whether they are a member already (then
    nothing changes). Unknown, expired, used-up and revoked codes are all the same 404."""
    if facts is None or not facts.open:
        raise NotFound(INVITE_NOT_FOUND)
    if facts.banned:
        raise Forbidden(BANNED)
    return facts.member


def check_admin_remains(target_role: str, new_role: str | None, admins: int) -> None:
    """A server always keeps an ADMIN: the last one may not leave, be removed or be demoted
    (`new_role` None: removed)."""
    if target_role == "ADMIN" and new_role != "ADMIN" and admins <= 1:
        raise Conflict(LAST_ADMIN)


def check_account_deletion(last_admin_of: list[tuple[UUID, str]]) -> None:
    """An account goes only when no server would be left without an ADMIN: `last_admin_of`
    holds the (id, name) of each server the user is the last ADMIN of."""
    if last_admin_of:
        named = ", ".join(f"{name!r} ({server_id})" for server_id, name in last_admin_of)
        raise Conflict(f"you are the last ADMIN of {named}: make someone else ADMIN or delete "
                       f"{'it' if len(last_admin_of) == 1 else 'them'} first")


class Candidate(NamedTuple):
    """Someone the caller asks to open a conversation with (get_dm_candidates)."""

    user_id: UUID
    shares_server: bool
    blocked: bool  # either way


def check_open_dm(user: User, recipient_ids: list[UUID], found: Mapping[UUID, Candidate]) -> None:
    """A conversation is with 1-9 others, each named once, never yourself, each someone who
    exists (`found`), shares a server with you and has not blocked you, nor you them."""
    if len(set(recipient_ids)) < len(recipient_ids):
        raise BadInput("recipient_ids must not repeat an id")
    if user.user_id in recipient_ids:
        raise BadInput("you cannot open a conversation with yourself")
    for user_id in recipient_ids:
        candidate = found.get(user_id)
        if candidate is None:
            raise NotFound(USER_NOT_FOUND)
        check_reachable(not candidate.shares_server, candidate.blocked)


class DmChange(NamedTuple):
    """What adding or removing a person of a conversation depends on (get_dm_change_facts),
    read under the conversation's lock; no row: the caller is not in it."""

    type: str
    owner_id: UUID | None
    people: int
    target_in: bool
    target_exists: bool
    shares_server: bool  # the caller and the target
    blocked: bool


def check_add_recipient(user: User, facts: DmChange | None) -> bool:
    """The owner of a group adds someone who exists, shares a server with them, is not blocked
    either way, while the group has fewer than 10 people. Whether the target is new to it (else
    nothing changes)."""
    change = _group_change(user, facts, "add people to")
    if change.target_in:
        return False
    if not change.target_exists:
        raise NotFound(USER_NOT_FOUND)
    check_reachable(not change.shares_server, change.blocked)
    if change.people >= MAX_DM_PEOPLE:
        raise BadInput(f"a group conversation takes at most {MAX_DM_PEOPLE} people")
    return True


def check_remove_recipient(user: User, facts: DmChange | None, target_id: UUID) -> None:
    """Anyone leaves a group; its owner removes anyone of it."""
    facts = _group_change(user, facts, None if target_id == user.user_id else "remove people from")
    if not facts.target_in:
        raise NotFound("user is not in this conversation")


def _group_change(user: User, facts: DmChange | None, owners_only: str | None) -> DmChange:
    if facts is None:
        raise NotFound(DM_NOT_FOUND)
    if facts.type != "GROUP_DM":
        raise BadInput("a 1:1 conversation keeps its two people: open a group conversation instead")
    if owners_only is not None and facts.owner_id != user.user_id:
        raise Forbidden(f"only the owner can {owners_only} this conversation")
    return facts


def check_block(user: User, target_id: UUID) -> None:
    if target_id == user.user_id:
        raise BadInput("you cannot block yourself")


# The spec's helpers, by the spec's names.

async def get_user_role_in_server(app: Mapping, user_id: UUID, server_id: UUID) -> str | None:
    return await app[keys.queries].get_member_role(app[keys.pool], server_id=server_id, user_id=user_id)


# What operations call: each reads the facts in one query, applies its rule and returns what it learned.

async def require_member(app: Mapping, user: User, server_id: UUID) -> str:
    """The caller's role in the server; 404 when they are not a member."""
    role = await get_user_role_in_server(app, user.user_id, server_id)
    if role is None:
        raise NotFound(SERVER_NOT_FOUND)
    return role


async def require_role(app: Mapping, user: User, server_id: UUID, needed: str, action: str) -> str:
    role = await require_member(app, user, server_id)
    check_role(role, needed, action)
    return role


async def require_server(app: Mapping, user: User, server_id: UUID):
    """The server as its member sees it (with their role); 404 for anyone else."""
    row = await app[keys.queries].get_server_for_member(app[keys.pool], server_id=server_id, user_id=user.user_id)
    if row is None:
        raise NotFound(SERVER_NOT_FOUND)
    return row


async def require_channel(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID) -> str:
    """The channel's type; 404 when the caller is not a member (not in the DM: server_id None)
    or the channel is elsewhere."""
    role, channel_type, _, _ = await _channel_access(app, user, server_id, channel_id)
    return check_channel(role, channel_type, server_id is None)


async def require_send(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID) -> None:
    role, channel_type, strangers, blocked = await _channel_access(app, user, server_id, channel_id)
    check_send(role, channel_type, server_id is None, strangers, blocked)


async def require_typing(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID) -> None:
    role, channel_type, _, _ = await _channel_access(app, user, server_id, channel_id)
    check_typing(role, channel_type, server_id is None)


async def require_edit(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, message_id: UUID) -> None:
    check_edit(user, await _message_facts(app, user, server_id, channel_id, message_id), app[keys.config].edit_window)


async def require_delete(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID,
                         message_id: UUID) -> None:
    check_delete(user, await _message_facts(app, user, server_id, channel_id, message_id))


async def require_read_edits(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID,
                             message_id: UUID) -> None:
    check_read_edits(user, await _message_facts(app, user, server_id, channel_id, message_id))


async def require_bulk_delete(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID,
                              ids: list[UUID]) -> None:
    row = await app[keys.queries].get_bulk_delete_access(
        app[keys.pool], server_id=server_id, channel_id=channel_id, message_ids=ids, user_id=user.user_id)
    role, channel_type, found = (None, None, 0) if row is None else (row["role"], row["channel_type"], row["found"])
    check_bulk_delete(role, channel_type, ids, found, server_id is None)


async def require_read_state(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, seq: int) -> None:
    """Explains why set_read_state wrote nothing (server_id None: a conversation)."""
    row = await app[keys.queries].get_read_access(app[keys.pool], user_id=user.user_id, server_id=server_id,
                                                  channel_id=channel_id)
    channel_type, last_seq = (None, 0) if row is None else (row["channel_type"], row["last_seq"])
    check_read_state(channel_type, last_seq, seq)


async def _message_facts(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID,
                         message_id: UUID) -> MessageFacts:
    return MessageFacts.of(await app[keys.queries].get_message_access(
        app[keys.pool], server_id=server_id, channel_id=channel_id, message_id=message_id, user_id=user.user_id),
        in_dm=server_id is None)


async def require_react(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, message_id: UUID) -> None:
    """Any member reacts to a message that can still change (and lists who reacted to it)."""
    check_message(await _message_facts(app, user, server_id, channel_id, message_id))


async def require_remove_reaction(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID,
                                  message_id: UUID, target_id: UUID | None) -> None:
    check_remove_reaction(user, await _message_facts(app, user, server_id, channel_id, message_id), target_id)


async def _channel_access(app: Mapping, user: User, server_id: UUID | None,
                          channel_id: UUID) -> tuple[str | None, str | None, bool, bool]:
    """(role, channel type, strangers, blocked): get_channel_access."""
    row = await app[keys.queries].get_channel_access(
        app[keys.pool], server_id=server_id, channel_id=channel_id, user_id=user.user_id
    )
    return (None, None, False, False) if row is None else (
        row["role"], row["channel_type"], row["strangers"], row["blocked"])


async def require_search_filters(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID | None,
                                 dm_id: UUID | None) -> None:
    """Search filters name only what the caller may read."""
    if server_id is not None:
        await require_member(app, user, server_id)
    for filtered, dm in ((channel_id, False), (dm_id, True)):
        if filtered is not None:
            row = await app[keys.queries].get_reader_server(app[keys.pool], channel_id=filtered, user_id=user.user_id)
            check_search_filter(row is not None, None if row is None else row["server_id"], dm)


async def require_accept(app: Mapping, user: User, code: str) -> tuple[UUID, bool]:
    """The invite's server and whether the caller is in it already; 404 unless it is open, 403
    when the caller is banned from it."""
    row = await app[keys.queries].get_invite_access(app[keys.pool], code=code, user_id=user.user_id)
    member = check_accept(None if row is None else InviteFacts(row["server_id"], row["open"], row["member"],
                                                               row["banned"]))
    return row["server_id"], member


async def require_not_banned(app: Mapping, server_id: UUID, user_id: UUID) -> None:
    """A banned user joins by no route, an ADMIN's add included, until the ban is lifted."""
    if await app[keys.queries].is_banned(app[keys.pool], server_id=server_id, user_id=user_id):
        raise Forbidden(BANNED)


async def require_open_dm(app: Mapping, user: User, recipient_ids: list[UUID]) -> None:
    rows = app[keys.queries].get_dm_candidates(app[keys.pool], user_id=user.user_id, user_ids=recipient_ids)
    check_open_dm(user, recipient_ids, {row["user_id"]: Candidate(**row) async for row in rows})


async def require_add_recipient(app: Mapping, con, user: User, dm_id: UUID, target_id: UUID) -> bool:
    """Whether the target is new to the group (read on `con`, after lock_dm)."""
    return check_add_recipient(user, await _dm_change(app, con, user, dm_id, target_id))


async def require_remove_recipient(app: Mapping, con, user: User, dm_id: UUID, target_id: UUID) -> None:
    check_remove_recipient(user, await _dm_change(app, con, user, dm_id, target_id), target_id)


async def _dm_change(app: Mapping, con, user: User, dm_id: UUID, target_id: UUID) -> DmChange | None:
    row = await app[keys.queries].get_dm_change_facts(con, channel_id=dm_id, user_id=user.user_id,
                                                      target_id=target_id)
    return None if row is None else DmChange(**row)


NOTIFICATION_TARGET_NOT_FOUND = {"server": SERVER_NOT_FOUND, "channel": CHANNEL_NOT_FOUND, "dm": DM_NOT_FOUND}


def check_notification_scope(scope: str) -> None:
    if scope not in NOTIFICATION_TARGET_NOT_FOUND:
        raise BadInput("scope must be server, channel or dm")


async def require_notification_target(app: Mapping, user: User, scope: str, target_id: UUID) -> None:
    """A notification setting names a server the user is a member of, a channel of one, or a
    conversation they are in; anything else is not found."""
    check_notification_scope(scope)
    if not await app[keys.queries].notification_target_visible(app[keys.pool], user_id=user.user_id, scope=scope,
                                                                target_id=target_id):
        raise NotFound(NOTIFICATION_TARGET_NOT_FOUND[scope])
