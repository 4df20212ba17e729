"""Reactions: adding and removing them as changes of the channel (each takes its event_seq and
sends its event, a repeat neither), listing who reacted, and a message's counts.

The caller has passed the permission check (chatd.domain.permissions.require_react or
require_remove_reaction); the statements (made in batches: chatd.domain.changes) check the
message again under the channel's lock, as it may have been deleted since."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import msgspec

from chatd import keys
from chatd.domain import permissions
from chatd.domain.changes import ChangeKind, columns, limit_change_rate, make_change
from chatd.domain.errors import Conflict, NotFound
from chatd.domain.schemas import Reaction, Reactor, User

MAX_EMOJI = 20  # distinct emoji on one message
NO_ONE = UUID(int=0)  # below every user id: where a listing without `after` starts


# A user's reaction with an emoji changes once per statement: the second would not see the first.
REACTION = ChangeKind("react", columns("message_id", "emoji", "user_id", "add"), constants={"max_emoji": MAX_EMOJI},
                      key=lambda change: (change.values["message_id"], change.values["emoji"], change.values["user_id"]))
CLEARING = ChangeKind("clear_reactions", columns("message_id"), key=lambda change: change.values["message_id"])


async def add_reaction(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, message_id: UUID,
                       emoji: str) -> None:
    """The user's reaction with `emoji` (canonical, chatd.domain.emojis), once however often asked."""
    outcome = await _react(app, user, server_id, channel_id, message_id, emoji, user.user_id, add=True)
    if outcome == "full":
        raise Conflict(f"a message takes at most {MAX_EMOJI} different emoji: react with one it has")


async def remove_reaction(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, message_id: UUID,
                          emoji: str, target_id: UUID) -> None:
    """`target_id`'s reaction with `emoji`, if there is one."""
    await _react(app, user, server_id, channel_id, message_id, emoji, target_id, add=False)


async def _react(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, message_id: UUID, emoji: str,
                 target_id: UUID, add: bool) -> str:
    limit_change_rate(app, user, channel_id)
    [row] = await make_change(app, REACTION, server_id, channel_id, message_id=message_id, emoji=emoji,
                              user_id=target_id, add=add)
    if row["outcome"] == "missing":
        raise NotFound(permissions.MESSAGE_NOT_FOUND)
    return row["outcome"]


async def clear_reactions(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, message_id: UUID) -> None:
    """Every reaction of the message, if it has any."""
    limit_change_rate(app, user, channel_id)
    [row] = await make_change(app, CLEARING, server_id, channel_id, message_id=message_id)
    if row["outcome"] == "missing":
        raise NotFound(permissions.MESSAGE_NOT_FOUND)


async def list_reactors(app: Mapping, channel_id: UUID, message_id: UUID, emoji: str, after: UUID | None,
                        limit: int) -> list[Reactor]:
    """Who reacted with `emoji`, by user id, the first `limit` after `after`."""
    rows = app[keys.queries].list_reactors(app[keys.pool], channel_id=channel_id, message_id=message_id,
                                           emoji=emoji, after=after or NO_ONE, lim=limit)
    return [Reactor(user_id=row["user_id"], username=row["username"]) async for row in rows]


_summary = msgspec.json.Decoder(list[Reaction])


def reaction_summary(text: str) -> list[Reaction]:
    """A message's reactions as the reaction_summary function (migration 0011) reads them."""
    return _summary.decode(text)

