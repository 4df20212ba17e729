"""Who is notified of what: the one rule, for the sockets (chatd.gateway.notifier, from the data
of a message's note and each connected user's cached settings) and for users with no socket
open (`recipients`, read from the database, for Web Push).

A message's notification for one user has a kind: `mention` (<@id>, @username, @everyone,
@here), `reply` (a reply to their message that mentions them), `dm` (a conversation's
message), `message` (any other). Their settings then decide: per server, channel and
conversation a level (`all`, `mentions`: only mention and reply, `none`) and a mute until a
time. Defaults: conversations `all`, server channels `mentions`; a channel's setting overrides
its server's level, and a mute of either silences the channel. The author hears nothing of
their own message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Literal
from uuid import UUID

import msgspec

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput
from chatd.domain.schemas import NotificationSetting, NotificationSettingChange, User

Kind = Literal["mention", "reply", "dm", "message"]
KINDS: tuple[Kind, ...] = ("mention", "reply", "dm", "message")  # strongest first
PREVIEW_CHARS = 100


class Setting(msgspec.Struct, frozen=True, gc=False):
    level: str
    muted_until: datetime | None = None


def muted(setting: Setting | None, now: datetime) -> bool:
    return setting is not None and setting.muted_until is not None and setting.muted_until > now


def decide(kind: Kind, in_dm: bool, channel: Setting | None, server: Setting | None, now: datetime) -> Kind | None:
    """The notification a user gets for a message they could hear of as `kind` (None: none),
    given their setting of its channel (or conversation) and of its server."""
    if muted(channel, now) or muted(server, now):
        return None
    chosen = channel or server
    level = chosen.level if chosen is not None else ("all" if in_dm else "mentions")
    if level == "none" or (level == "mentions" and kind not in ("mention", "reply")):
        return None
    return kind


def stronger(a: Kind | None, b: Kind | None) -> Kind | None:
    if a is None or b is None:
        return a or b
    return a if KINDS.index(a) <= KINDS.index(b) else b


async def recipients(app: Mapping, message_ids: list[UUID]) -> dict[UUID, list[tuple[UUID, Kind]]]:
    """Whom each stored message notifies, and as what, after their settings and mutes (none
    once it is deleted), in one query for them all. Web Push sends it to those of them with no
    socket open."""
    now = datetime.now(timezone.utc)
    found: dict[UUID, list[tuple[UUID, Kind]]] = {message_id: [] for message_id in message_ids}
    async for row in app[keys.queries].list_push_candidates(app[keys.pool], message_ids=message_ids):
        channel = None if row["channel_level"] is None else Setting(row["channel_level"], row["channel_muted_until"])
        server = None if row["server_level"] is None else Setting(row["server_level"], row["server_muted_until"])
        kind = decide(row["kind"], row["in_dm"], channel, server, now)
        if kind is not None:
            found[row["message_id"]].append((row["user_id"], kind))
    return found


def setting_view(row) -> NotificationSetting:
    return NotificationSetting(scope=row["scope"], id=row["target_id"], level=row["level"],
                               muted_until=row["muted_until"])


async def set_setting(app: Mapping, user: User, scope: str, target_id: UUID,
                      change: NotificationSettingChange) -> NotificationSetting:
    """The caller's setting of a server, channel or conversation they see (404 otherwise)."""
    await permissions.require_notification_target(app, user, scope, target_id)
    row = await app[keys.notes].emit(app[keys.queries].set_notification_setting, app[keys.pool],
                                     user_id=user.user_id, scope=scope, target_id=target_id, level=change.level,
                                     muted_until=change.muted_until)
    return setting_view(row)


async def list_settings(app: Mapping, user: User) -> list[NotificationSetting]:
    rows = app[keys.queries].list_notification_settings(app[keys.pool], user_id=user.user_id)
    return [setting_view(row) async for row in rows]


async def list_mentions(app: Mapping, user: User, before: UUID | None, limit: int) -> list:
    """The rows of the messages that mention the caller, newest first (message_row's columns)."""
    queries, pool = app[keys.queries], app[keys.pool]
    if before is not None and not await queries.message_exists(pool, message_id=before):
        raise BadInput("before is not a message")
    rows = queries.list_mentions(pool, user_id=user.user_id, before_id=before, lim=limit)
    return [row async for row in rows]
