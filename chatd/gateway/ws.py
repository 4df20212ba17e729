"""WS /chat/ws: authenticate, register with the hub, then read frames until the socket ends.

The handler is the reader loop; the connection's writer task does all sending. Every frame is
validated, and anything refused is answered with an `error` event on an open connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSMsgType, web

from chatd import keys
from chatd.domain import permissions
from chatd.store.pool import DB_ERRORS
from chatd.web.errors import ApiError
from chatd.domain.notes import message_note
from chatd.gateway import protocol
from chatd.gateway.connection import Connection
from chatd.gateway.protocol import (
    BadFrame, GetServers, Identify, Resume, SendMessage, TypingStart, TypingStop, decode_frame,
)
from chatd.domain.messages import post_message
from chatd.config import RateLimit
from chatd.domain.ratelimit import RateLimiter
from chatd.domain.views import server_view

log = logging.getLogger(__name__)

UNAUTHORIZED = 4401
TRY_AGAIN_LATER = 1013  # RFC 6455's registry: a temporary server condition
IDENTIFY_SECONDS = 10.0
MAX_FRAME_BYTES = 64 * 1024
RESUME_BATCH = 500
SEND_BUFFER_BYTES = 64 * 1024  # the kernel doubles it: 128 KiB in flight per socket at most
UTC = ZoneInfo("UTC")
TYPING_LIMIT = RateLimit(1, 2.0)


async def websocket_handler(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    config = app[keys.config]
    origin = request.headers.get("Origin")
    if config.allowed_origins and origin is not None and origin not in config.allowed_origins:
        raise ApiError(403, "origin not allowed")
    # No per-message deflate: compressing each recipient's copy would undo framing a broadcast once.
    ws = web.WebSocketResponse(heartbeat=config.heartbeat_seconds, max_msg_size=MAX_FRAME_BYTES, compress=False)
    await ws.prepare(request)
    _bound_send_buffer(request)

    user_id = await _identify(request, ws)
    if user_id is None:
        return ws
    try:
        found = await app[keys.connect_lookup].user_and_servers(user_id)
    except DB_ERRORS as error:
        log.warning("event=ws_connect_failed error=%s", type(error).__name__)
        await ws.close(code=TRY_AGAIN_LATER, message=b"the database is not answering; reconnect later")
        return ws
    if found is None:
        await ws.close(code=UNAUTHORIZED, message=b"token names no user")
        return ws
    user, servers = found
    zone, zone_error = _zone(request.query.get("tz"))
    connection = Connection(ws, request, user, zone, {s.id for s in servers}, config.send_queue_frames,
                            app[keys.metrics].slow_consumers)
    hub = app[keys.hub]
    await hub.connect(user.user_id, connection)
    log.debug("event=ws_connected user_id=%s", user.user_id)  # ws_disconnected and the access line say the rest
    try:
        connection.send(protocol.encode({
            "type": "connected", "message": "Connected to chat server", "user_id": user.user_id,
            "username": user.username, "servers": servers, "heartbeatInterval": int(config.heartbeat_seconds * 1000),
        }))
        if zone_error:
            connection.send(protocol.error_event(zone_error))
        session = Session(app, connection)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await session.handle(message.data)
            elif message.type == WSMsgType.BINARY:
                connection.send(protocol.error_event("binary frames are not supported; send JSON text"))
    finally:
        hub.disconnect(user.user_id, connection)
        await app[keys.typing].forget(user, connection)
        await connection.flush_and_stop()
        log.info("event=ws_disconnected user_id=%s code=%s", user.user_id, ws.close_code)
    return ws


async def _identify(request: web.Request, ws: web.WebSocketResponse) -> UUID | None:
    """The user id of a valid token from ?token= (the seed's way) or from a first `identify`
    frame (no URL logs); None once the socket is closed with 4401 and the reason."""
    app = request.app
    token = request.query.get("token")
    if token is None:
        try:
            first = await ws.receive(timeout=IDENTIFY_SECONDS)
        except asyncio.TimeoutError:
            await ws.close(code=UNAUTHORIZED, message=b"no token: send ?token= or an identify frame")
            return None
        try:
            frame = decode_frame(first.data) if first.type == WSMsgType.TEXT else None
        except BadFrame:
            frame = None
        if not isinstance(frame, Identify):
            await ws.close(code=UNAUTHORIZED, message=b"the first frame must be identify {token}")
            return None
        token = frame.token
    try:
        return app[keys.tokens].user_id(token)
    except ApiError as error:
        await ws.close(code=UNAUTHORIZED, message=error.detail.encode())
        return None


def _bound_send_buffer(request: web.Request) -> None:
    """Linux grows a socket's send buffer up to 4 MiB for a peer that does not read; fixing it
    keeps a stalled client's cost small and lets its queue fill, so it is closed (4008)."""
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)


def _zone(name: str | None):
    if not name:
        return UTC, None
    try:
        return ZoneInfo(name), None
    except (ZoneInfoNotFoundError, ValueError):
        return UTC, f"unknown time zone {name[:64]!r}: timestamps are in UTC"


class Session:
    """What one connection asks for, frame by frame."""

    def __init__(self, app, connection: Connection):
        self.app = app
        self.connection = connection
        self.user = connection.user
        # Typing is limited whenever messages are: one typing_start per 2 s per channel.
        self.typing_limiter = RateLimiter(TYPING_LIMIT) if app[keys.config].rate_limit else None

    async def handle(self, data: str) -> None:
        nonce = None
        try:
            frame = decode_frame(data)
            if isinstance(frame, SendMessage):
                nonce = frame.nonce
                await self.send_message(frame)
            elif isinstance(frame, (TypingStart, TypingStop)):
                await self.typing(frame)
            elif isinstance(frame, GetServers):
                await self.get_servers()
            elif isinstance(frame, Resume):
                await self.resume(frame)
            elif isinstance(frame, Identify):
                raise BadFrame("already identified")
        except BadFrame as error:
            self.connection.send(protocol.error_event(str(error)))
        except ApiError as error:
            extra = {"retryAfter": round(error.retry_after, 3)} if error.retry_after is not None else {}
            if nonce is not None:
                extra["nonce"] = nonce
            self.connection.send(protocol.error_event(error.detail, **extra))
        except Exception:
            # As REST answers a 500: logged with the traceback, and this socket stays open.
            log.exception("event=ws_frame_failed user_id=%s", self.user.user_id)
            extra = {"nonce": nonce} if nonce is not None else {}
            self.connection.send(protocol.error_event("internal error", **extra))

    async def send_message(self, frame: SendMessage) -> None:
        row = await post_message(self.app, self.user, frame.serverId, frame.channelId, frame.text, frame.nonce)
        await self.app[keys.typing].stop(self.user, frame.serverId, frame.channelId)
        if row["created"]:
            self.app[keys.metrics].messages_ws.inc()
        else:
            # A resend of a message already stored: confirm it to this socket only.
            self.connection.send(protocol.message_event(message_note(row), self.connection.zone))

    async def typing(self, frame: TypingStart | TypingStop) -> None:
        tracker = self.app[keys.typing]
        if isinstance(frame, TypingStop):
            await tracker.stop(self.user, frame.serverId, frame.channelId)
            return
        if self.typing_limiter is not None and self.typing_limiter.acquire(frame.channelId):
            return  # at most one typing_start per 2 s: the indicator is already showing
        if await permissions.require_channel(self.app, self.user, frame.serverId, frame.channelId) != "TEXT":
            raise ApiError(400, "this is a VOICE channel: typing indicators are for TEXT channels")
        await tracker.start(self.user, frame.serverId, frame.channelId, self.connection)

    async def get_servers(self) -> None:
        app = self.app
        rows = app[keys.queries].list_servers_of_user(app[keys.pool], user_id=self.user.user_id)
        servers = {str(row["id"]): server_view(row) async for row in rows}
        self.connection.send(protocol.encode({"type": "servers_data", "servers": servers}))

    async def resume(self, frame: Resume) -> None:
        """Missed messages in seq order, then live ones: live messages for this channel are
        held while the backlog is read, then sent if newer than the backlog."""
        await permissions.require_channel(self.app, self.user, frame.serverId, frame.channelId)
        conn, channel_id = self.connection, frame.channelId
        if channel_id in conn.resuming:
            raise ApiError(400, "a resume of this channel is already running")
        conn.resuming[channel_id] = held = []
        after = frame.afterSeq
        try:
            while True:
                rows = [row async for row in self.app[keys.queries].list_messages_after_seq(
                    self.app[keys.pool], channel_id=channel_id, after_seq=after, lim=RESUME_BATCH)]
                for row in rows:
                    conn.send(protocol.message_event(message_note(row), conn.zone))
                if rows:
                    after = rows[-1]["seq"]
                if len(rows) < RESUME_BATCH:
                    break
        finally:
            del conn.resuming[channel_id]
            conn.seen[channel_id] = max(after, conn.seen.get(channel_id, 0))
            for seq, frame_bytes in held:
                conn.send_message(channel_id, seq, frame_bytes)
        conn.send(protocol.encode({"type": "resumed", "serverId": frame.serverId, "channelId": channel_id, "seq": after}))
