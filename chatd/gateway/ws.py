"""WS /chat/ws: authenticate, register with the hub, then read frames until the socket ends.

The handler is the reader loop; the connection's writer task does all sending. Every frame is
validated, and anything refused is answered with an `error` event on an open connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSMsgType, web

from chatd import keys
from chatd.domain.errors import Unauthorized
from chatd.domain.tokens import TOKEN_REVOKED, Claims
from chatd.gateway import outbound
from chatd.gateway.connection import UNAUTHORIZED, Connection
from chatd.gateway.inbound import BadFrame, Identify, decode_frame
from chatd.gateway.session import Session
from chatd.store.pool import DB_ERRORS
from chatd.web.errors import ApiError

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013  # RFC 6455's registry: a temporary server condition
IDENTIFY_SECONDS = 10.0
MAX_FRAME_BYTES = 64 * 1024
SEND_BUFFER_BYTES = 64 * 1024  # the kernel doubles it: 128 KiB in flight per socket at most
# Sockets that name no zone: the same UTC as the database's timestamps, which clock_time then
# needs no conversion for.
UTC = timezone.utc


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

    token = await _identify(request, ws)
    if token is None:
        return ws
    hub = app[keys.hub]
    try:
        found = await app[keys.connect_lookup].user_and_servers(token)
        if found is not None and hub.revoked_recently(token):  # revoked after the lookup read it
            raise Unauthorized(TOKEN_REVOKED)
    except DB_ERRORS as error:
        if app[keys.availability].refusal(error, "ws") is None:  # an outage is logged once, there
            log.warning("event=ws_connect_failed error=%s", type(error).__name__)
        await ws.close(code=TRY_AGAIN_LATER, message=b"the database is not answering; reconnect later")
        return ws
    except Unauthorized as refusal:  # the token was revoked
        await ws.close(code=UNAUTHORIZED, message=refusal.detail.encode())
        return ws
    if found is None:
        await ws.close(code=UNAUTHORIZED, message=b"token names no user")
        return ws
    user, servers, dms, unreads = found.user, found.servers, found.dms, found.unreads
    zone, zone_error = _zone(request.query.get("tz"))
    connection = Connection(ws, request, user, token, zone, {s.id for s in servers} | {dm.id for dm in dms},
                            config.send_queue_frames, app[keys.metrics].slow_consumers)
    hub.connect(user.user_id, connection)
    hub.notifier.load(user.user_id, found.notification_settings)
    app[keys.presence].opened(user.user_id)
    log.debug("event=ws_connected user_id=%s", user.user_id)  # ws_disconnected and the access line say the rest
    try:
        connection.send(outbound.connected(user, servers, dms, unreads, config.heartbeat_seconds, found.status,
                                           found.presences))
        found = unreads = None  # their JSON (KiBs in a busy server) is not kept for the life of the socket
        if zone_error:
            connection.send(outbound.error(zone_error))
        session = Session(app, connection)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await session.handle(message.data)
            elif message.type == WSMsgType.BINARY:
                connection.send(outbound.error("binary frames are not supported; send JSON text"))
    finally:
        hub.disconnect(user.user_id, connection)
        app[keys.presence].closed(user.user_id)
        await app[keys.typing].forget(user, connection)
        await connection.flush_and_stop()
        log.info("event=ws_disconnected user_id=%s code=%s", user.user_id, ws.close_code)
    return ws


async def _identify(request: web.Request, ws: web.WebSocketResponse) -> Claims | None:
    """The claims of a valid token from ?token= (the spec's way) or from a first `identify`
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
        return app[keys.tokens].claims(token)
    except Unauthorized as refusal:
        await ws.close(code=UNAUTHORIZED, message=refusal.detail.encode())
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
