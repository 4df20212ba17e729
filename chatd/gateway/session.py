"""What one connection asks for, frame by frame: each client frame type has one handler.

Anything refused is answered with an `error` event on the open socket: a domain refusal with
its detail (and the wait, and the nonce of the send it answers), a database that is unavailable
like REST's 503 (with retryAfter), anything unexpected as "internal error", logged like REST's 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from chatd import keys
from chatd.config import RateLimit
from chatd.domain import permissions
from chatd.domain.errors import BadInput, Refused
from chatd.domain.messages import post_message
from chatd.domain.notes import message_note
from chatd.domain.ratelimit import RateLimiter
from chatd.domain.views import server_view
from chatd.gateway import outbound
from chatd.gateway.connection import Connection
from chatd.gateway.inbound import (
    BadFrame, Frame, GetServers, Identify, Resume, SendMessage, TypingStart, TypingStop, decode_frame,
)

log = logging.getLogger(__name__)

RESUME_BATCH = 500
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
        row = await post_message(self.app, self.user, frame.serverId, frame.channelId, frame.text, frame.nonce)
        await self.app[keys.typing].stop(self.user, frame.serverId, frame.channelId)
        if row["created"]:
            self.app[keys.metrics].messages_ws.inc()
        else:
            # A resend of a message already stored: confirm it to this socket only.
            self.connection.send(outbound.new_message(message_note(row), self.connection.zone))

    async def typing_start(self, frame: TypingStart) -> None:
        if self.typing_limiter is not None and self.typing_limiter.acquire(frame.channelId):
            return  # at most one typing_start per 2 s: the indicator is already showing
        await permissions.require_typing(self.app, self.user, frame.serverId, frame.channelId)
        await self.app[keys.typing].start(self.user, frame.serverId, frame.channelId, self.connection)

    async def typing_stop(self, frame: TypingStop) -> None:
        await self.app[keys.typing].stop(self.user, frame.serverId, frame.channelId)

    async def get_servers(self, frame: GetServers) -> None:
        app = self.app
        rows = app[keys.queries].list_servers_of_user(app[keys.pool], user_id=self.user.user_id)
        self.connection.send(outbound.servers_data([server_view(row) async for row in rows]))

    async def identify_again(self, frame: Identify) -> None:
        raise BadFrame("already identified")

    async def resume(self, frame: Resume) -> None:
        """Missed messages in seq order, then live ones: live messages for this channel are
        held while the backlog is read, then sent if newer than the backlog."""
        await permissions.require_channel(self.app, self.user, frame.serverId, frame.channelId)
        conn, channel_id = self.connection, frame.channelId
        if channel_id in conn.resuming:
            raise BadInput("a resume of this channel is already running")
        conn.resuming[channel_id] = held = []
        after = frame.afterSeq
        try:
            while True:
                rows = [row async for row in self.app[keys.queries].list_messages_after_seq(
                    self.app[keys.pool], channel_id=channel_id, after_seq=after, lim=RESUME_BATCH)]
                for row in rows:
                    conn.send(outbound.new_message(message_note(row), conn.zone))
                if rows:
                    after = rows[-1]["seq"]
                if len(rows) < RESUME_BATCH:
                    break
        finally:
            del conn.resuming[channel_id]
            conn.seen[channel_id] = max(after, conn.seen.get(channel_id, 0))
            for seq, frame_bytes in held:
                conn.send_message(channel_id, seq, frame_bytes)
        conn.send(outbound.resumed(frame.serverId, channel_id, after))


# One handler per client frame type; a table of the class's functions, so a session (one per
# socket, 15,000 at once) carries no table of its own.
ROUTES: dict[type[Frame], Callable[[Session, Frame], Awaitable[None]]] = {
    SendMessage: Session.send_message,
    TypingStart: Session.typing_start,
    TypingStop: Session.typing_stop,
    GetServers: Session.get_servers,
    Resume: Session.resume,
    Identify: Session.identify_again,
}
