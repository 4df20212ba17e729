"""What one connection asks for, frame by frame: each client frame type has one handler.

Anything refused is answered with an `error` event on the open socket: a domain refusal with
its detail (and the wait, and the nonce of the send it answers), a database that is unavailable
like REST's 503 (with retryAfter), anything unexpected as "internal error", logged like REST's 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from uuid import UUID, uuid4

from chatd import keys
from chatd.config import RateLimit
from chatd.domain import edits, permissions, presence, reads
from chatd.domain.errors import BadInput, NotFound, Refused
from chatd.domain.messages import post_message
from chatd.domain.notes import message_note
from chatd.domain.ratelimit import RateLimiter
from chatd.domain.views import server_view
from chatd.gateway import outbound
from chatd.gateway.connection import Connection
from chatd.gateway.inbound import (
    Ack, BadFrame, EditMessage, Frame, GetServers, Identify, PresenceUpdate, Resume, SendMessage, TypingStart,
    TypingStop, decode_frame,
)
from chatd.store.pool import fetch_rows

log = logging.getLogger(__name__)

RESUME_BATCH = 500
# A resume of many channels reads its channels in groups of about this many changes (each
# channel up to RESUME_CHANNEL_BATCH at a time): the database reads a group while the one before
# is built and sent, and the first is sent soon.
RESUME_READ_CHANGES = 1000
RESUME_CHANNEL_BATCH = 200
# The first group is smaller: nothing is sent until it is read and built, while every later
# group is read as the one before is built and sent.
RESUME_FIRST_READ = 200
# Groups read at once: with one, a resume waited on the database for a quarter of its time
# (its read of a group took longer than building and sending the one before); with two, the
# database reads on both cores while chatd waits, and that wait halved.
RESUME_READS_AHEAD = 2
TYPING_LIMIT = RateLimit(1, 2.0)


class Session:
    def __init__(self, app: Mapping, connection: Connection):
        self.app = app
        self.connection = connection
        self.user = connection.user
        # Typing is limited whenever messages are: one typing_start per 2 s per channel.
        self.typing_limiter = RateLimiter(TYPING_LIMIT) if app[keys.config].rate_limit else None

    async def handle(self, data: str) -> None:
        nonce = None
        try:
            frame = decode_frame(data)
            nonce = getattr(frame, "nonce", None)
            await ROUTES[type(frame)](self, frame)
        except Refused as refusal:
            self.connection.send(outbound.refused(refusal, nonce))
        except Exception as error:
            unavailable = self.app[keys.availability].refusal(error, "ws")
            if unavailable is not None:  # as REST answers a 503: the outage is logged once
                self.connection.send(outbound.refused(unavailable, nonce))
                return
            # As REST answers a 500: logged with the traceback, and this socket stays open.
            log.exception("event=ws_frame_failed user_id=%s", self.user.user_id)
            extra = {"nonce": nonce} if nonce is not None else {}
            self.connection.send(outbound.error("internal error", **extra))

    async def send_message(self, frame: SendMessage) -> None:
        row = await post_message(self.app, self.user, frame.serverId, frame.channelId, frame.text, frame.nonce,
                                 frame.replyTo, frame.mentionReply, frame.attachmentIds)
        await self.app[keys.typing].stop(self.user, frame.serverId, frame.channelId)
        if row["created"]:
            self.app[keys.metrics].messages_ws.inc()
        else:
            # A resend of a message already stored: confirm it to this socket only.
            note = self.app[keys.attachment_urls].signed(message_note(row))
            self.connection.send(outbound.new_message(note, self.connection.zone))

    async def edit_message(self, frame: EditMessage) -> None:
        await edits.edit_message(self.app, self.user, frame.serverId, frame.channelId, frame.messageId, frame.text)

    async def typing_start(self, frame: TypingStart) -> None:
        if self.typing_limiter is not None and self.typing_limiter.acquire(frame.channelId):
            return  # at most one typing_start per 2 s: the indicator is already showing
        await permissions.require_typing(self.app, self.user, frame.serverId, frame.channelId)
        await self.app[keys.typing].start(self.user, frame.serverId, frame.channelId, self.connection)

    async def typing_stop(self, frame: TypingStop) -> None:
        await self.app[keys.typing].stop(self.user, frame.serverId, frame.channelId)

    async def ack(self, frame: Ack) -> None:
        """As POST .../ack: the user's other sockets hear read_state_updated, this one nothing
        (it knows)."""
        conn = self.connection
        if conn.origin is None:
            conn.origin = uuid4()
        await reads.set_read_state(self.app, self.user, frame.serverId, frame.channelId, frame.seq, forward=True,
                                   origin=conn.origin)

    async def get_servers(self, frame: GetServers) -> None:
        app = self.app
        rows = app[keys.queries].list_servers_of_user(app[keys.pool], user_id=self.user.user_id)
        self.connection.send(outbound.servers_data([server_view(row) async for row in rows]))

    async def presence_update(self, frame: PresenceUpdate) -> None:
        await presence.set_status(self.app, self.user, frame.status)

    async def identify_again(self, frame: Identify) -> None:
        raise BadFrame("already identified")

    async def resume(self, frame: Resume) -> None:
        if frame.channels is not None:
            await self._resume_channels(frame.channels)
            return
        # The original form: one channel's messages after a seq.
        server_id, channel_id, after = frame.serverId, frame.channelId, frame.afterSeq
        assert channel_id is not None and after is not None
        cursors = {channel_id: 0}
        async with self._holding_live([channel_id], cursors):
            try:
                await permissions.require_channel(self.app, self.user, server_id, channel_id)
            except NotFound:
                if not await self._deleted_channels([channel_id]):
                    raise
                return
            while True:
                rows = [row async for row in self.app[keys.queries].list_message_notes_after_seq(
                    self.app[keys.pool], channel_id=channel_id, after_seq=after, lim=RESUME_BATCH)]
                urls = self.app[keys.attachment_urls]
                notes = [urls.signed(message_note(row)) for row in rows]
                # One channel: every row under one key.
                await self._replay(cursors, {"": channel_id}, [""] * len(notes), [note.event_seq for note in notes],
                                   [outbound.change(note, self.connection.zone) for note in notes])
                if rows:
                    after = rows[-1]["seq"]
                if len(rows) < RESUME_BATCH:
                    break
            self.connection.send(outbound.resumed(server_id, channel_id, after))

    async def _resume_channels(self, requested: dict) -> None:
        """Every change after each cursor, in event_seq order per channel, then `resumed` with
        each channel's last eventSeq, then the live changes held meanwhile."""
        app, conn = self.app, self.connection
        cursors: dict = {}
        waiting: deque[tuple[UUID, int, int]] = deque()  # (channel, cursor, changes pending) to read
        async with self._holding_live(list(requested), cursors):
            readable = {row["channel_id"]: row async for row in app[keys.queries].list_readable_channels(
                app[keys.pool], user_id=self.user.user_id, channel_ids=list(requested))}
            deleted = await self._deleted_channels([c for c in requested if c not in readable])
            for channel_id, after in requested.items():
                row = readable.get(channel_id)
                if channel_id in deleted:
                    continue  # told channel_deleted already
                if row is None:  # not there, or not the caller's: the same answer
                    conn.send(outbound.error(permissions.CHANNEL_NOT_FOUND, channelId=channel_id))
                elif after < row["pruned_through"]:
                    conn.send(outbound.resync_required(channel_id))
                else:
                    cursors[channel_id] = after
                    if after < row["last_event_seq"]:
                        waiting.append((channel_id, after, row["last_event_seq"] - after))

            def read_next(limit: int = RESUME_READ_CHANGES) -> asyncio.Future | None:
                """The next channels to read, about `limit` changes in all."""
                group, changes = {}, 0
                while waiting and changes < limit:
                    channel_id, after, pending = waiting.popleft()
                    group[channel_id] = after
                    changes += min(pending, RESUME_CHANNEL_BATCH)
                return asyncio.ensure_future(self._read_changes(group)) if group else None

            zone, urls = conn.zone, app[keys.attachment_urls]
            ids = {str(channel_id): channel_id for channel_id in cursors}  # the rows name channels by their text
            in_flight: deque[asyncio.Future] = deque()

            def read_ahead(limit: int = RESUME_READ_CHANGES) -> None:
                while len(in_flight) < RESUME_READS_AHEAD and (reading := read_next(limit)) is not None:
                    in_flight.append(reading)
                    limit = RESUME_READ_CHANGES

            read_ahead(RESUME_FIRST_READ)
            try:
                while in_flight:
                    group, rows = await in_flight.popleft()
                    channel_ids, event_seqs = [row[0] for row in rows], [row[1] for row in rows]
                    # A channel with more than a batch to replay: the rest after what was read.
                    # (Its event_seqs have no gaps: a full batch moved it by the batch.) A channel
                    # is in one read at a time, so its changes still come in order.
                    reached = _last_event_seqs(ids, channel_ids, event_seqs)
                    waiting.extend((c, reached[c], RESUME_CHANNEL_BATCH) for c, after in group.items()
                                   if reached.get(c, after) - after >= RESUME_CHANNEL_BATCH)
                    # The database reads the next groups while this one is built and sent (their
                    # queries leave before the frames take the loop).
                    read_ahead()
                    await asyncio.sleep(0)
                    await self._replay(cursors, ids, channel_ids, event_seqs,
                                       [outbound.replayed_change(row, zone, urls) for row in rows])
            finally:
                for reading in in_flight:
                    reading.cancel()
            conn.send(outbound.resumed_channels(cursors))

    async def _deleted_channels(self, channel_ids: list) -> set:
        """Of these channels, those deleted from a server the user is in: each is answered
        channel_deleted instead of a replay."""
        if not channel_ids:
            return set()
        app = self.app
        deleted = set()
        async for row in app[keys.queries].list_deleted_channels(app[keys.pool], user_id=self.user.user_id,
                                                                 channel_ids=channel_ids):
            self.connection.send(outbound.channel_deleted(row["server_id"], row["channel_id"]))
            deleted.add(row["channel_id"])
        return deleted

    async def _read_changes(self, after: dict) -> tuple[dict, list]:
        """Up to RESUME_CHANNEL_BATCH changes of each channel after its cursor, in the columns
        of list_changes_after (and the cursors)."""
        app = self.app
        return after, await fetch_rows(app[keys.queries], app[keys.pool], "list_changes_after", channel_ids=list(after),
                                       after_event_seqs=list(after.values()), lim=RESUME_CHANNEL_BATCH)

    async def _replay(self, cursors: dict, ids: dict[str, UUID], channel_ids: list[str], event_seqs: list[int],
                      frames: list[bytes]) -> None:
        """Send each change's frame, in bursts of one write each, each after the one before
        left the queue; after each burst, a channel's cursor moves to its last change sent
        (`channel_ids` as their text, `ids` their UUIDs)."""
        conn = self.connection
        for start in range(0, len(frames), conn.room):
            end = start + conn.room
            conn.send_frames(frames[start:end])
            cursors.update(_last_event_seqs(ids, channel_ids[start:end], event_seqs[start:end]))
            await conn.drained()

    @contextlib.asynccontextmanager
    async def _holding_live(self, channel_ids: list, cursors: dict) -> AsyncIterator[None]:
        """Hold the live changes of the channels to resume, from before anything is awaited
        (a change committed while the resume reads its permission is held too); afterwards
        (after the `resumed` answer), send those past each channel's final cursor."""
        conn = self.connection
        if not conn.resuming.keys().isdisjoint(channel_ids):
            raise BadInput("a resume of this channel is already running")
        for channel_id in channel_ids:
            conn.resuming[channel_id] = []
        try:
            yield
        finally:
            for channel_id in channel_ids:
                held = conn.resuming.pop(channel_id)
                conn.seen[channel_id] = max(cursors.get(channel_id, 0), conn.seen.get(channel_id, 0))
                for held_seq, frame_bytes in held:
                    conn.send_change(channel_id, held_seq, frame_bytes)


def _last_event_seqs(ids: dict[str, UUID], channel_ids: list[str], event_seqs: list[int]) -> dict[UUID, int]:
    """Each channel's last event_seq of these rows of a resume (in order per channel): a dict
    built from them in C, keyed by the channels' text, then one entry per channel."""
    return {ids[channel]: seq for channel, seq in dict(zip(channel_ids, event_seqs)).items()}


# One handler per client frame type; a table of the class's functions, so a session (one per
# socket, 15,000 at once) carries no table of its own.
ROUTES: dict[type[Frame], Callable[[Session, Frame], Awaitable[None]]] = {
    SendMessage: Session.send_message,
    EditMessage: Session.edit_message,
    TypingStart: Session.typing_start,
    TypingStop: Session.typing_stop,
    Ack: Session.ack,
    GetServers: Session.get_servers,
    Resume: Session.resume,
    Identify: Session.identify_again,
    PresenceUpdate: Session.presence_update,
}
