"""One client socket: a bounded outgoing queue drained by its own writer task, so a slow
reader never stalls the code that fans events out. The writer exists only while there is
something to send: an idle socket (most of them) costs no task."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import tzinfo
from typing import TYPE_CHECKING
from uuid import UUID

from aiohttp import web

from chatd.gateway.framing import close_frame
from chatd.domain.schemas import User
from chatd.domain.tokens import Claims

if TYPE_CHECKING:
    from prometheus_client import Counter

log = logging.getLogger(__name__)

UNAUTHORIZED = 4401  # no, a bad, an expired or a revoked token
SLOW_CONSUMER = 4008
SLOW_CONSUMER_GRACE = 10.0
_CLOSE_TIMEOUT = 2.0


class Connection:
    __slots__ = ("ws", "user", "token", "zone", "rooms", "seen", "resuming", "_pending", "_max_pending",
                 "_writer", "_closing", "_transport", "_protocol", "_stream", "_dropped", "origin")

    def __init__(self, ws: web.WebSocketResponse, request: web.BaseRequest, user: User, token: Claims,
                 zone: tzinfo, rooms: set[UUID], max_queue: int, dropped: Counter | None = None):
        self.ws = ws
        self._transport = request.transport  # kept: aiohttp forgets it once a close begins
        self._protocol = request.protocol
        self._stream = request.writer  # its drain() waits while the transport is paused
        self.user = user
        self.token = token  # the verified token's claims, shared with the token cache: closed when it is revoked
        self.zone = zone
        self.rooms = rooms  # whose events this socket receives: servers, conversations (chatd.gateway.hub)
        self.seen: dict[UUID, int] = {}  # channel -> highest event_seq sent, to never send one twice
        self.resuming: dict[UUID, list[tuple[int, bytes]]] = {}  # live changes held during a resume
        self._pending: deque[bytes] = deque()
        self._max_pending = max_queue
        self._writer: asyncio.Task | None = None
        self._closing = False
        self._dropped = dropped  # the slow-consumer counter of /metrics
        self.origin: UUID | None = None  # names this socket in its acks' notes (set at its first ack)

    def send(self, frame: bytes) -> None:
        """Send a complete frame (chatd.gateway.framing) without waiting.

        With nothing queued and the transport keeping up, the frame goes straight to the
        transport; otherwise it waits in the queue for the writer, and a client that lets the
        queue fill is closed (4008).
        """
        if self._closing:
            return
        if self._writes_directly():
            self._transport.write(frame)
            return
        self._queue(frame)

    def send_frames(self, frames: list[bytes]) -> None:
        """Several frames in one write (one syscall, one segment for the peer to read)."""
        if len(frames) > 1 and not self._closing and self._writes_directly():
            self._transport.write(b"".join(frames))
            return
        for frame in frames:
            self.send(frame)

    @property
    def room(self) -> int:
        """How many frames a burst may send at once without risking the queue: half of it."""
        return max(1, self._max_pending // 2)

    async def drained(self) -> None:
        """Until the writer handed every queued frame to the socket: a long replay waits here
        between bursts, so it goes at its reader's pace instead of filling the queue and getting
        the reader closed as a slow consumer. With nothing queued it still lets the other tasks
        run once, so a replay that keeps up does not hold the loop (the resume's next read
        among them) for the whole of its backlog."""
        if self._writer is None:
            await asyncio.sleep(0)
        while (writer := self._writer) is not None:
            await asyncio.wait({writer})

    def _writes_directly(self) -> bool:
        return self._writer is None and not self._protocol.writing_paused and not self._transport.is_closing()

    def _queue(self, frame: bytes) -> None:
        if len(self._pending) >= self._max_pending:
            log.info("event=slow_consumer user_id=%s", self.user.user_id)
            self.drop_slow_consumer()
            return
        self._pending.append(frame)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    def send_change(self, channel_id: UUID, seq: int, frame: bytes) -> None:
        """A change's frame, at most once per event_seq and held back while its channel resumes."""
        if self.accepts(channel_id, seq, frame):
            self.send(frame)

    def accepts(self, channel_id: UUID, seq: int, frame: bytes) -> bool:
        """Whether a change's frame (by its event_seq) is to be sent now: not while its channel
        resumes (it is held, and sent after the backlog), and never one this socket already got."""
        held = self.resuming.get(channel_id)
        if held is not None:
            held.append((seq, frame))
            return False
        if seq > self.seen.get(channel_id, 0):
            self.seen[channel_id] = seq
            return True
        return False

    def drop_slow_consumer(self) -> None:
        """Close with 4008 without waiting on a peer that does not read.

        The close frame goes behind what is already buffered, so a client that starts reading
        again gets every frame and then the 4008 (and resumes); one that never does is cut off
        after a grace period.
        """
        if self._closing:
            return
        self._closing = True
        self._stop_writer()
        if self._dropped is not None:
            self._dropped.inc()
        self._transport.write(close_frame(SLOW_CONSUMER, b"slow consumer: resume to catch up"))
        self._transport.close()
        asyncio.get_running_loop().call_later(SLOW_CONSUMER_GRACE, self._transport.abort)

    async def close(self, code: int, reason: str) -> None:
        """The closing handshake, bounded: a peer that does not answer in time is cut off."""
        if self._closing:  # already dropped as a slow consumer: no handshake to wait for
            self._transport.abort()
            return
        self._closing = True
        self._stop_writer()
        closing = asyncio.ensure_future(self.ws.close(code=code, message=reason.encode()))
        done, _ = await asyncio.wait({closing}, timeout=_CLOSE_TIMEOUT)
        if not done:
            self._transport.abort()
            closing.cancel()

    async def flush_and_stop(self) -> None:
        """Let the writer send what is queued (the socket is ending), briefly."""
        writer = self._writer
        if not self._closing and writer is not None:
            await asyncio.wait({writer}, timeout=_CLOSE_TIMEOUT)
        self._closing = True
        self._stop_writer()

    def _stop_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None

    async def _drain(self) -> None:
        """Whatever is queued in one write, then wait until the transport takes more: frame by
        frame through aiohttp's writer, a resume that outran its reader spent 7% of its CPU
        here."""
        pending, transport = self._pending, self._transport
        try:
            while pending:
                if transport.is_closing():
                    raise ConnectionResetError("the socket is closing")
                burst = b"".join(pending)
                pending.clear()
                transport.write(burst)
                await self._stream.drain()
        except (ConnectionError, RuntimeError):
            # The socket closed under us: queue nothing more; the reader loop cleans up.
            self._closing = True
            pending.clear()
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None
