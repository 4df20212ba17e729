"""One client socket: a bounded outgoing queue drained by its own writer task, so a slow
reader never stalls the code that fans events out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import tzinfo
from uuid import UUID

from aiohttp import WSMsgType, web

from chatd.schemas import User

log = logging.getLogger(__name__)

SLOW_CONSUMER = 4008
_CLOSE_TIMEOUT = 2.0


class Connection:
    __slots__ = ("ws", "user", "zone", "servers", "seen", "resuming", "_queue", "_writer", "_closing")

    def __init__(self, ws: web.WebSocketResponse, user: User, zone: tzinfo, servers: set[UUID], max_queue: int):
        self.ws = ws
        self.user = user
        self.zone = zone
        self.servers = servers  # the servers whose events this socket receives
        self.seen: dict[UUID, int] = {}  # channel -> highest seq sent, to never send one twice
        self.resuming: dict[UUID, list[tuple[int, bytes]]] = {}  # live messages held during a resume
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(max_queue)
        self._writer = asyncio.create_task(self._drain())
        self._closing = False

    def send(self, frame: bytes) -> None:
        """Queue a frame without waiting; a client that lets the queue fill is closed (4008)."""
        if self._closing:
            return
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.info("event=slow_consumer user_id=%s", self.user.user_id)
            self.close_soon(SLOW_CONSUMER, "slow consumer: resume to catch up")

    def send_message(self, channel_id: UUID, seq: int, frame: bytes) -> None:
        """A new_message frame, at most once per seq and held back while that channel resumes."""
        held = self.resuming.get(channel_id)
        if held is not None:
            held.append((seq, frame))
        elif seq > self.seen.get(channel_id, 0):
            self.seen[channel_id] = seq
            self.send(frame)

    def close_soon(self, code: int, reason: str) -> None:
        if not self._closing:
            self._closing = True
            self._writer.cancel()
            asyncio.get_running_loop().create_task(self._close(code, reason))

    async def close(self, code: int, reason: str) -> None:
        """Stop writing and close the socket (what is queued and unsent is dropped)."""
        self._closing = True
        self._writer.cancel()
        await self._close(code, reason)

    async def flush_and_stop(self) -> None:
        """Let the writer send what is queued (on a graceful stop), briefly."""
        if not self._closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._queue.join(), _CLOSE_TIMEOUT)
        self._closing = True
        self._writer.cancel()

    async def _close(self, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), _CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            # The peer does not read even its close frame: drop the TCP connection.
            transport = self.ws._req.transport if self.ws._req is not None else None
            if transport is not None:
                transport.abort()

    async def _drain(self) -> None:
        queue, ws = self._queue, self.ws
        try:
            while True:
                frame = await queue.get()
                try:
                    await ws.send_frame(frame, WSMsgType.TEXT)
                finally:
                    queue.task_done()
        except (ConnectionError, RuntimeError):
            pass  # the socket closed under us; the reader loop notices and cleans up
