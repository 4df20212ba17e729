"""`notification` events: who among this process's sockets hears of a message, and as what.

Decided per recipient from the message's note (whom it mentions, @everyone / @here, what it
replies to, whether it is a conversation's) and the recipient's settings, which this process
caches for each user it holds sockets of: read with the user's connect lookup, refreshed by
the notification_settings_updated note. No query per delivered message. The rule itself is
chatd.domain.notifications.decide, the one Web Push's recipients apply too.

Plain messages in a server channel reach only those who asked for them: the users here whose
channel or server setting is `all` are indexed (`_loud`), so a message nobody is mentioned in
costs a lookup, not a pass over the room.

A thread's messages notify its followers only: @everyone, @here and an `all` setting reach
those who followed it before the message (since_seq below its seq; those it mentions follow it
from it). Whether a channel is a thread, and its followers, are read once per channel when a
message of it first needs them (`needs_followers`; the listener reads them before delivering)
and then kept: by the messages (their authors and those they mention follow), and by the
thread_followed / thread_unfollowed notes. (@here in a thread mentions its followers only, so
it makes no follower its note does not name.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from uuid import UUID

import msgspec

from chatd.domain.notes import (
    MessageNote, MessageUpdatedNote, NotificationSettingsUpdatedNote, ThreadFollowedNote, ThreadUnfollowedNote,
)
from chatd.domain.notifications import Kind, Setting, decide, stronger
from chatd.gateway import outbound
from chatd.gateway.connection import Connection

_settings_decoder = msgspec.json.Decoder(dict[UUID, Setting])
_followers_decoder = msgspec.json.Decoder(dict[UUID, int])
# Channels whose thread followers (or that they are no thread) a process keeps: the first known
# is forgotten first, and read again when next needed.
FOLLOWED_CHANNELS_KEPT = 10_000


class Notifier:
    def __init__(self, sockets_in: Callable[[UUID], Iterable[Connection]],
                 sockets_of: Callable[[UUID], Iterable[Connection]], post: Callable[[Connection, bytes], None]):
        self._sockets_in, self._sockets_of, self._post = sockets_in, sockets_of, post
        self._settings: dict[UUID, dict[UUID, Setting]] = {}  # user -> server, channel or DM id -> setting
        self._loud: dict[UUID, set[UUID]] = {}  # server or channel id -> users here whose level there is `all`
        # server channel id -> its followers (user -> since_seq) if it is a thread, None if it is not
        self._followers: OrderedDict[UUID, dict[UUID, int] | None] = OrderedDict()

    def load(self, user_id: UUID, settings_json: str | None) -> None:
        """A user's settings as their connect lookup read them (JSON {id: {level, muted_until}})."""
        self.forget(user_id)
        settings = _settings_decoder.decode(settings_json) if settings_json else {}
        if settings:
            self._settings[user_id] = settings
            for target_id, setting in settings.items():
                if setting.level == "all":
                    self._loud.setdefault(target_id, set()).add(user_id)

    def forget(self, user_id: UUID) -> None:
        for target_id, setting in self._settings.pop(user_id, {}).items():
            if setting.level == "all":
                self._quiet(target_id, user_id)

    def update(self, note: NotificationSettingsUpdatedNote) -> None:
        settings = self._settings.get(note.user_id)
        if settings is None:
            if not any(True for _ in self._sockets_of(note.user_id)):
                return  # none of their sockets here
            settings = self._settings[note.user_id] = {}
        settings[note.target_id] = Setting(note.level, note.muted_until)
        if note.level == "all":
            self._loud.setdefault(note.target_id, set()).add(note.user_id)
        else:
            self._quiet(note.target_id, note.user_id)

    def _quiet(self, target_id: UUID, user_id: UUID) -> None:
        users = self._loud.get(target_id)
        if users is not None:
            users.discard(user_id)
            if not users:
                del self._loud[target_id]

    # A thread's followers.

    def needs_followers(self, note: MessageNote | MessageUpdatedNote) -> bool:
        """Whether the followers of the note's channel must be read (learn_followers) before
        its notifications are decided: it may notify more than those it names, someone here
        may hear of it, and whether the channel is a thread (and who follows it) is not known."""
        if note.server_id is None or not self._sockets_in(note.server_id):
            return False
        if isinstance(note, MessageNote):
            broad = (note.mention_everyone or note.mention_here or note.channel_id in self._loud
                     or note.server_id in self._loud)
        else:
            broad = note.notify_everyone or note.notify_here
        return broad and note.channel_id not in self._followers

    def learn_followers(self, channel_id: UUID, thread: bool, followers_json: str | None) -> None:
        """What get_thread_followers read of a channel."""
        self._followers.pop(channel_id, None)
        self._followers[channel_id] = _followers_decoder.decode(followers_json or "{}") if thread else None
        if len(self._followers) > FOLLOWED_CHANNELS_KEPT:
            self._followers.popitem(last=False)

    def forget_followers(self) -> None:
        """Notes may have been missed (the bus was down): read followers again when needed."""
        self._followers.clear()

    def followed(self, note: ThreadFollowedNote) -> None:
        followers = self._followers.get(note.thread_id)
        if followers is not None:
            followers.setdefault(note.user_id, note.since_seq)

    def unfollowed(self, note: ThreadUnfollowedNote) -> None:
        followers = self._followers.get(note.thread_id)
        if followers is not None:
            followers.pop(note.user_id, None)

    def _followed_by(self, note: MessageNote, followers: dict[UUID, int]) -> None:
        """Who a thread's message made followers, as the send statement did (thread_followed
        in insert_message_batch): its author from it, those it mentions from just before it;
        who followed already keeps their start."""
        followers.setdefault(note.user_id, note.seq)
        for user_id in note.mentions:
            followers.setdefault(user_id, note.seq - 1)
        if note.reply_to is not None and note.mention_reply:
            followers.setdefault(note.reply_to.user_id, note.seq - 1)

    # Notifications.

    def deliver(self, note: MessageNote | MessageUpdatedNote) -> None:
        """The notification of a message just fanned out (or of an edit, to those it mentions
        newly), to each socket here of whoever hears of it."""
        # A thread's followers (a dict), no thread (None), or not known (read failed: only
        # those it names hear of it).
        followers = _UNKNOWN if note.server_id is None else self._followers.get(note.channel_id, _UNKNOWN)
        if isinstance(note, MessageNote):
            seq: int | None = note.seq
            if isinstance(followers, dict):
                self._followed_by(note, followers)
            named: dict[UUID, Kind] = {user_id: "mention" for user_id in note.mentions}
            if note.reply_to is not None and note.mention_reply:
                named.setdefault(note.reply_to.user_id, "reply")
            everyone: Kind | None = "mention" if note.mention_everyone or note.mention_here else (
                "dm" if note.server_id is None else None)
            if everyone is None:  # a server channel's: those who hear every message, if any
                for target in (note.channel_id, note.server_id):
                    for user_id in self._loud.get(target, ()):  # type: ignore[arg-type]
                        if followers is None or (isinstance(followers, dict) and _follows(followers, user_id, seq)):
                            named.setdefault(user_id, "message")
            skip: set[UUID] = set()
        else:
            seq = None  # an edit: whoever follows now
            if isinstance(followers, dict):  # whom it names newly follow the thread (edit_messages)
                for user_id in note.notify:
                    followers.setdefault(user_id, 0)  # before any message still to come
            named = {user_id: "mention" for user_id in note.notify}
            everyone = "mention" if note.notify_everyone or note.notify_here else None
            skip = set(note.mentions) - set(note.notify)  # mentioned before this edit: told then
        if everyone is not None and followers is _UNKNOWN and note.server_id is not None:
            everyone = None
        if not named and everyone is None:
            return
        author, username = note.user_id, note.username
        if author is None or username is None or note.text is None:
            return  # an edit stored before mentions existed
        room = note.channel_id if note.server_id is None else note.server_id
        now = datetime.now(timezone.utc)
        frames: dict[Kind, bytes] = {}
        decided: dict[UUID, Kind | None] = {}

        def tell(conn: Connection, base: Kind) -> None:
            user_id = conn.user.user_id
            if user_id == author or user_id in skip:
                return
            kind = decided.get(user_id, "unset")
            if kind == "unset":
                kind = decided[user_id] = self._decide(user_id, base, note.server_id, note.channel_id, now)
            if kind is None:
                return
            frame = frames.get(kind)
            if frame is None:
                frame = frames[kind] = outbound.notification(kind, note.id, note.server_id, note.channel_id, author,
                                                             username, note.text)
            self._post(conn, frame)

        if everyone is not None and isinstance(followers, dict):  # a thread: its followers, and whom it names
            for user_id in {u for u in followers if _follows(followers, u, seq)} | named.keys():
                for conn in self._sockets_of(user_id):
                    if room in conn.rooms:
                        tell(conn, stronger(named.get(user_id), everyone))  # type: ignore[arg-type]
        elif everyone is not None:
            for conn in self._sockets_in(room):
                tell(conn, stronger(named.get(conn.user.user_id), everyone))  # type: ignore[arg-type]
        else:
            for user_id, base in named.items():
                for conn in self._sockets_of(user_id):
                    if room in conn.rooms:
                        tell(conn, base)

    def _decide(self, user_id: UUID, kind: Kind, server_id: UUID | None, channel_id: UUID,
                now: datetime) -> Kind | None:
        settings = self._settings.get(user_id, {})
        server = settings.get(server_id) if server_id is not None else None
        return decide(kind, server_id is None, settings.get(channel_id), server, now)


_UNKNOWN = object()


def _follows(followers: dict[UUID, int], user_id: UUID, seq: int | None) -> bool:
    """Whether the user followed the thread before its message `seq` (None: an edit, now)."""
    since = followers.get(user_id)
    return since is not None and (seq is None or since < seq)
