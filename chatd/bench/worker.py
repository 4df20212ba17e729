"""A load-generator process: `python -m chatd.bench.worker`, driven over stdin/stdout.

The bench runs these so that clients never share chatd's event loop. Each holds many real
WebSocket connections, sends `send_message` from some of them (or edits, over the socket or
REST, and reacts over REST, keep-alive), and counts what every connection receives: per
channel seqs and eventSeqs (to find lost, duplicated and reordered messages and changes),
send->receive latency (the send or edit time travels in the text), raw ceiling frames, a
resume's replay. Commands and replies are JSON lines; the orchestrator is chatd.bench.loadgen.

The clients are picows's, over uvloop's transports: a frame is handed to a callback as the
socket is read, with no task switch per frame. With aiohttp's client, the load generators'
own receive path capped the fan-out phase (the bare server's ceiling rose from ~136k to
160-230k deliveries/s with picows) and stamped each frame late by however many frames were
ahead of it in the process.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import ipaddress
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import aiohttp
import msgspec
import uvloop
from picows import WSCloseCode, WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from chatd.bench.stats import bucket_of

CONNECT_TIMEOUT = 30.0
QUIET_SECONDS = 0.5  # a trial ends once nothing arrived for this long after the last send
DRAIN_LIMIT = 15.0
CLOSE_TIMEOUT = 10.0
# Connects to a loopback chatd leave from 127.0.1.1-250 in turn, as clients from many addresses
# would. From one address, the kernel finds each connect a free port by probing ports already
# connected to the same chatd: over the last third of 15,000 connects that search cost the load
# generator ~240 us more system CPU per connect, a quarter of what a connect cost the machine.
LOOPBACK_SOURCES = 250
REACTION = quote("\N{THUMBS UP SIGN}")  # the emoji of the reaction storm, as a path segment
# The events that take a channel's eventSeq: each connection must get each one exactly once.
CHANGES = frozenset({"new_message", "message_updated", "message_deleted", "messages_deleted", "reaction_added",
                     "reaction_removed", "reactions_cleared"})
# Counted as deliveries of a trial (with latency, for those whose text carries the send time).
DELIVERED = frozenset({"new_message", "message_updated", "reaction_added", "reaction_removed"})
PRESENCE_CHANGES = 5  # status changes per client in a presence storm trial
STATUSES = ("idle", "dnd", "online")  # a storm cycles through them: each step is a change
ECHO_TIMEOUT = 10.0


class ConnSpec(msgspec.Struct):
    url: str
    proc: int = 0
    token: str | None = None
    server_id: str | None = None  # set for senders: where they send
    channel_id: str | None = None
    channel: str | None = None  # the member's channel: it must receive all of its messages
    server: str | None = None  # the member's server (where it reacts)
    dm_id: str | None = None  # a sender's 1:1 conversation, where it sends in dm mode


class Command(msgspec.Struct):
    cmd: str
    conns: list[ConnSpec] = []
    concurrency: int = 100
    # max: send on every ack; rate: a fixed pace; listen: only receive; edit: senders edit their
    # latest message at a fixed pace over their socket (edit_message); patch: the same over REST;
    # react: every member PUTs and DELETEs its reaction to its channel's latest message, each on
    # the previous answer; dm: senders send into their 1:1 conversation at a fixed pace;
    # presence: every member changes its status PRESENCE_CHANGES times, each on the previous
    # change's presence_update to itself
    mode: str = "max"
    duration: float = 0.0
    rate: float = 0.0  # messages/s per sender, in rate mode
    start_at: float = 0.0
    text_bytes: int = 120
    channels: dict[str, int] = {}  # resume: each channel's cursor (afterEventSeq)


class Frame(msgspec.Struct):
    """The fields of server frames the bench looks at; the rest is skipped unparsed."""

    type: str
    channelId: str | None = None
    seq: int | None = None
    eventSeq: int | None = None
    text: str | None = None
    nonce: str | None = None
    id: str | None = None
    user_id: str | None = None  # connected
    userId: str | None = None  # presence_update
    status: str | None = None


class Replayed(msgspec.Struct):
    """The fields a resume's replay is checked by: a lighter decoding than Frame's, for the
    thousands of frames a resume sends (they share the machine's cores with chatd)."""

    type: str
    channelId: str | None = None
    eventSeq: int | None = None


_decode = msgspec.json.Decoder(Frame).decode
_decode_replayed = msgspec.json.Decoder(Replayed).decode
_encode = msgspec.json.encode


class Client(WSListener):
    """One connection: picows calls on_ws_frame from the socket's read, so a frame is stamped
    and counted as it arrives, not after a task switch per frame."""

    def __init__(self, worker: Worker, spec: ConnSpec):
        super().__init__()
        self.worker, self.spec = worker, spec
        self.transport: WSTransport | None = None
        # Per channel: the last seq received and how many. chatd delivers a channel in seq order,
        # so a seq not above the last is a duplicate (or out of order: as wrong). Not a set of
        # every seq: millions of them made the collector's full passes stall this process for
        # ~100 ms, which showed up as chatd's latency.
        self.last_seq: dict[str, int] = {}
        self.received: dict[str, int] = {}
        self.duplicates = 0
        # The same per channel for every change (by eventSeq): new messages, edits, reactions...
        self.last_event: dict[str, int] = {}
        self.events: dict[str, int] = {}
        self.event_duplicates = 0
        self.latest: dict[str, str] = {}  # per channel, the id of the last new message received
        self.own_latest: str | None = None  # the last message this client sent and had acknowledged
        self.reacted: set[str] = set()  # messages this client's reaction is on
        self.user_id: str | None = None
        self.status = "online"
        self.echo: asyncio.Future | None = None  # while a status change waits for its presence_update
        self.presence_from: Counter = Counter()  # presence_update frames of this trial, by whose
        self.resumed: asyncio.Future | None = None  # while a resume runs: set by `resumed`
        self.dropped = False
        self.close_code: int | None = None
        # The type of the first frame (`connected`, once authenticated); "" if the socket ended first.
        self.first: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def count_change(self, channel: str, event_seq: int) -> bool:
        """A change received: counted if it is its channel's next, else a duplicate (or out of
        order, as wrong). Whether it counted."""
        if event_seq <= self.last_event.get(channel, 0):
            self.event_duplicates += 1
            return False
        self.last_event[channel] = event_seq
        self.events[channel] = self.events.get(channel, 0) + 1
        return True

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            self.worker.on_text(self, frame.get_payload_as_bytes())
        elif frame.msg_type == WSMsgType.CLOSE:
            code = frame.get_close_code()
            self.close_code = None if code == WSCloseCode.NO_INFO else int(code)
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.dropped = True
        if not self.first.done():
            self.first.set_result("")


@dataclass
class Trial:
    """What one run command observed in this process."""

    started: float
    mode: str = "max"
    deliveries: int = 0
    last_delivery: float = 0.0
    sent: int = 0
    acked: int = 0
    last_ack: float = 0.0
    errors: int = 0
    latency: dict[str, Counter] = field(default_factory=lambda: {"same": Counter(), "cross": Counter()})


class Worker:
    def __init__(self, name: str):
        self.name = name
        self.clients: list[Client] = []
        self.pending: dict[str, asyncio.Future] = {}
        self.acked_ids: list[str] = []
        self.trial = Trial(time.time())
        # Both part of every nonce: chatd answers a nonce repeated within 5 minutes with the
        # earlier message, and the bench starts fresh workers for each phase.
        self.runs, self.token = 0, uuid.uuid4().hex[:8]
        self.last_frame = 0.0
        self.connects = 0
        self._http: aiohttp.ClientSession | None = None

    async def connect(self, command: Command) -> dict:
        gate = asyncio.Semaphore(command.concurrency)
        started = time.time()

        async def one(spec: ConnSpec) -> bool:
            async with gate:
                url = spec.url + (f"?token={spec.token}" if spec.token else "")
                try:
                    # uvloop's own connect: aiofastnet's (picows's default when installed) cost
                    # the client ~80 us more per connect, on the cores chatd shares.
                    transport, client = await ws_connect(lambda: Client(self, spec), url, use_aiofastnet=False,
                                                         websocket_handshake_timeout=CONNECT_TIMEOUT,
                                                         **self._source(spec.url))
                except (WSError, OSError, asyncio.TimeoutError):
                    return False
                if spec.token:  # authenticated only once `connected` arrives
                    try:
                        first = await asyncio.wait_for(client.first, CONNECT_TIMEOUT)
                    except asyncio.TimeoutError:
                        first = None
                    if first != "connected":
                        transport.disconnect()
                        return False
                self.clients.append(client)
                return True

        # The clients live until the phase ends. Left on, the cycle collector re-scans them all
        # as they pile up, a quarter of this process's CPU per connect, taken from the cores
        # chatd shares; instead collect once afterwards and freeze what is left.
        gc.disable()
        try:
            results = await asyncio.gather(*(one(spec) for spec in command.conns))
            seconds = time.time() - started
        finally:
            gc.collect()
            gc.freeze()
            gc.enable()
        return {"event": "connected", "ok": sum(results), "failed": len(results) - sum(results), "seconds": seconds}

    def _source(self, url: str) -> dict:
        """create_connection's local_addr for the next connect: the next source address when
        chatd is on IPv4 loopback, else the kernel's choice."""
        if not _ipv4_loopback(url):
            return {}
        self.connects += 1
        return {"local_addr": (f"127.0.1.{1 + self.connects % LOOPBACK_SOURCES}", 0)}

    def on_text(self, client: Client, data: bytes) -> None:
        now = time.time()
        self.last_frame = now
        if client.resumed is not None and self._replayed(client, data, now):
            return
        try:
            frame = _decode(data)
        except msgspec.DecodeError:
            frame = Frame(type="undecodable")
        if client.spec.token and not client.first.done():  # the `connected` event
            client.user_id, client.status = frame.user_id, frame.status or "online"
            client.first.set_result(frame.type)
            return
        trial = self.trial
        if frame.type == "presence_update":
            if frame.userId != client.user_id:
                client.presence_from[frame.userId] += 1
                trial.deliveries += 1
                trial.last_delivery = now
            elif client.echo is not None and not client.echo.done():
                client.echo.set_result(frame.status)
            return
        if frame.type == "raw":
            trial.deliveries += 1
            trial.last_delivery = now
            return
        if frame.type == "new_message":
            if frame.nonce is not None:
                waiter = self.pending.pop(frame.nonce, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame.id)
            client.latest[frame.channelId] = frame.id
            if frame.seq <= client.last_seq.get(frame.channelId, 0):
                client.duplicates += 1
                return
            client.last_seq[frame.channelId] = frame.seq
            client.received[frame.channelId] = client.received.get(frame.channelId, 0) + 1
        if frame.type in CHANGES and not client.count_change(frame.channelId, frame.eventSeq):
            return
        if frame.type in DELIVERED and client.resumed is None:
            trial.deliveries += 1
            trial.last_delivery = now
            # Sent or edited in the load generators' trials: "<time> <process> <padding>". A worker
            # that runs none only listens (the mentions phase), to texts the bench sent otherwise.
            if frame.text is not None and self.runs:
                sent_at, sender_proc, _ = frame.text.split(" ", 2)
                kind = "same" if int(sender_proc) == client.spec.proc else "cross"
                trial.latency[kind][bucket_of((now - float(sent_at)) * 1000)] += 1
        if frame.type == "message_updated" and frame.id == client.own_latest and trial.mode == "edit":
            trial.acked += 1  # an edit_message of this client's reached it
            trial.last_ack = now
        elif frame.type == "error" and frame.nonce is not None:
            waiter = self.pending.pop(frame.nonce, None)
            if waiter is None:
                trial.errors += 1  # a refusal no send waits for: an edit_message's
            elif not waiter.done():
                waiter.set_result(None)  # a send refused

    def _replayed(self, client: Client, data: bytes, now: float) -> bool:
        """A frame of a running resume: each change counted per channel by its eventSeq, the
        end (`resumed`) noted (only here: a resume's frames all come this way). False for
        anything else, left to on_text."""
        try:
            frame = _decode_replayed(data)
        except msgspec.DecodeError:
            return False
        if frame.type in CHANGES:
            client.count_change(frame.channelId, frame.eventSeq)
            return True
        if frame.type == "resumed" and not client.resumed.done():
            client.resumed.set_result(now)
            return True
        return False

    async def run(self, command: Command) -> dict:
        self.trial = trial = Trial(command.start_at, command.mode)
        self.runs += 1
        await asyncio.sleep(max(0.0, command.start_at - time.time()))
        deadline = command.start_at + command.duration
        pad = "x" * command.text_bytes
        for client in self.clients:
            client.presence_from.clear()
        if command.mode == "react":
            reacting = [c for c in self.clients if c.spec.server and c.latest.get(c.spec.channel)]
            tasks = [asyncio.create_task(self.react_loop(c, deadline)) for c in reacting]
        elif command.mode == "presence":
            tasks = [asyncio.create_task(self.presence_loop(c)) for c in self.clients if c.spec.server]
        else:
            loop = {"edit": self.edit_loop, "patch": self.patch_loop}.get(command.mode, self.send_loop)
            senders = [c for c in self.clients if (c.spec.dm_id if command.mode == "dm" else c.spec.channel_id)
                       and command.mode != "listen"]
            tasks = [asyncio.create_task(loop(c, i, command, deadline, pad)) for i, c in enumerate(senders)]
        await asyncio.sleep(max(0.0, deadline - time.time()))
        if tasks:
            await asyncio.wait(tasks, timeout=DRAIN_LIMIT)
        limit = time.time() + DRAIN_LIMIT
        while time.time() < limit and (self.pending or time.time() - self.last_frame < QUIET_SECONDS):
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        return {
            "event": "trial", "deliveries": trial.deliveries, "last_delivery": trial.last_delivery,
            "sent": trial.sent, "acked": trial.acked, "last_ack": trial.last_ack, "errors": trial.errors,
            "unacked": len(self.pending),
            "latency": {k: {str(b): n for b, n in v.items()} for k, v in trial.latency.items()},
            # presence: how many (receiving socket, changing user) pairs got each number of frames
            "presence_pairs": {str(k): n for k, n in Counter(
                n for c in self.clients for n in c.presence_from.values()).items()},
            "slow_closed": sum(1 for c in self.clients if c.close_code == 4008),
        }

    async def send_loop(self, client: Client, index: int, command: Command, deadline: float, pad: str) -> None:
        trial, loop = self.trial, asyncio.get_running_loop()
        interval = 1.0 / command.rate if command.mode in ("rate", "dm") else 0.0
        # Senders start spread over one interval, so a paced load is not a burst per tick.
        next_at = command.start_at + (index % 97) / 97 * interval
        n = 0
        while True:
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.time()))
                next_at += interval
            now = time.time()
            if now >= deadline or client.dropped:
                return
            nonce = f"{self.name}.{self.token}.{self.runs}.{index}.{n}"
            n += 1
            waiter = self.pending[nonce] = loop.create_future()
            waiter.add_done_callback(functools.partial(self._acknowledged, client))
            text = f"{now:.6f} {client.spec.proc} {pad}"
            if command.mode == "dm":  # no serverId: the channel is a conversation
                frame = {"type": "send_message", "channelId": client.spec.dm_id, "text": text, "nonce": nonce}
            else:
                frame = {"type": "send_message", "serverId": client.spec.server_id,
                         "channelId": client.spec.channel_id, "text": text, "nonce": nonce}
            client.transport.send(WSMsgType.TEXT, _encode(frame))
            trial.sent += 1
            if not interval:
                await waiter

    def _acknowledged(self, client: Client, waiter: asyncio.Future) -> None:
        trial = self.trial
        if waiter.cancelled():
            return
        message_id = waiter.result()
        if message_id is None:
            trial.errors += 1
            return
        trial.acked += 1
        trial.last_ack = time.time()
        self.acked_ids.append(message_id)
        client.own_latest = message_id

    async def edit_loop(self, client: Client, index: int, command: Command, deadline: float, pad: str) -> None:
        """Edit the client's latest message over its socket (edit_message) at the sender's pace,
        each edit's time in its text, read right before its write as a send's is. Acknowledged
        when the edit reaches the sender's own socket (message_updated)."""
        trial, n = self.trial, 0
        async for now in _edit_times(client, index, command, deadline):
            frame = {"type": "edit_message", "serverId": client.spec.server_id, "channelId": client.spec.channel_id,
                     "messageId": client.own_latest, "text": f"{now:.6f} {client.spec.proc} {pad}",
                     "nonce": f"{self.name}.{self.token}.{self.runs}.{index}.e{n}"}
            n += 1
            client.transport.send(WSMsgType.TEXT, _encode(frame))
            trial.sent += 1

    async def patch_loop(self, client: Client, index: int, command: Command, deadline: float, pad: str) -> None:
        """The same by PATCH. Each request runs on its own, so a slow answer does not delay the
        next edit."""
        url = f"{_http_base(client.spec.url)}/chat/servers/{client.spec.server_id}/channels/" \
              f"{client.spec.channel_id}/messages/{client.own_latest}"
        requests = [asyncio.create_task(self._request(client, "PATCH", url, StampedEdit(client.spec.proc, pad)))
                    async for _ in _edit_times(client, index, command, deadline)]
        if requests:
            await asyncio.wait(requests)

    async def react_loop(self, client: Client, deadline: float) -> None:
        """Toggle this client's reaction to its channel's latest message, each request on the
        previous answer: every request adds or removes it, so each is a change."""
        message_id = client.latest[client.spec.channel]
        url = f"{_http_base(client.spec.url)}/chat/servers/{client.spec.server}/channels/{client.spec.channel}" \
              f"/messages/{message_id}/reactions/{REACTION}/@me"
        while time.time() < deadline and not client.dropped:
            present = message_id in client.reacted
            if await self._request(client, "DELETE" if present else "PUT", url):
                client.reacted.symmetric_difference_update((message_id,))

    async def presence_loop(self, client: Client) -> None:
        """PRESENCE_CHANGES status changes, each sent once chatd announced the one before to
        this socket (the user's own sockets hear of their changes too)."""
        trial, loop = self.trial, asyncio.get_running_loop()
        for _ in range(PRESENCE_CHANGES):
            if client.dropped:
                return
            client.status = STATUSES[(STATUSES.index(client.status) + 1) % len(STATUSES)] \
                if client.status in STATUSES else STATUSES[0]
            client.echo = loop.create_future()
            client.transport.send(WSMsgType.TEXT, _encode({"type": "presence_update", "status": client.status}))
            trial.sent += 1
            try:
                await asyncio.wait_for(client.echo, ECHO_TIMEOUT)
            except asyncio.TimeoutError:
                trial.errors += 1
                return
            finally:
                client.echo = None
            trial.acked += 1
            trial.last_ack = time.time()

    async def _request(self, client: Client, method: str, url: str, body: aiohttp.Payload | None = None) -> bool:
        """One REST request over the worker's keep-alive connections; counted as acknowledged
        when chatd answers 2xx."""
        trial = self.trial
        trial.sent += 1
        headers = {"Authorization": f"Bearer {client.spec.token}"}
        try:
            async with self.http().request(method, url, data=body, headers=headers) as resp:
                await resp.read()
                ok = resp.status < 300
        except aiohttp.ClientError:
            ok = False
        if ok:
            trial.acked += 1
            trial.last_ack = time.time()
        else:
            trial.errors += 1
        return ok

    def http(self) -> aiohttp.ClientSession:
        """The worker's HTTP client: keep-alive, with as many connections as requests in flight."""
        if self._http is None:
            self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self._http

    async def resume(self, command: Command) -> dict:
        """Each authenticated client sends one resume frame of `command.channels` and counts the
        replay up to `resumed`: per channel how many changes, in eventSeq order, none twice."""
        clients = [c for c in self.clients if c.spec.token and not c.dropped]
        loop = asyncio.get_running_loop()
        for client in clients:
            for channel in command.channels:  # a replay of what an earlier resume got is no duplicate
                for counts in (client.last_event, client.events, client.last_seq, client.received):
                    counts.pop(channel, None)
            client.event_duplicates = 0
            client.resumed = loop.create_future()
        started = time.time()
        for client in clients:
            client.transport.send(WSMsgType.TEXT, _encode({"type": "resume", "channels": command.channels}))
        try:
            done, _ = await asyncio.wait([c.resumed for c in clients], timeout=DRAIN_LIMIT * 4)
            finished = [c.resumed.result() for c in clients if c.resumed in done]
        finally:
            for client in clients:
                client.resumed = None
        return {
            "event": "resumed", "clients": len(clients), "finished": len(finished),
            "seconds": max(finished) - started if finished else None,
            "changes": sum(n for c in clients for ch, n in c.events.items() if ch in command.channels),
            "per_channel": [c.events.get(ch, 0) for c in clients for ch in command.channels],
            "last_event_seqs": [c.last_event.get(ch, 0) for c in clients for ch in command.channels],
            "duplicates": sum(c.event_duplicates for c in clients),
        }

    def report(self) -> dict:
        """Per connection and channel: distinct seqs received; plus what was acknowledged."""
        return {
            "event": "report",
            "connections": [
                {"channel": c.spec.channel, "dropped": c.dropped, "close_code": c.close_code, "duplicates": c.duplicates,
                 "channels": dict(c.received), "events": dict(c.events), "event_duplicates": c.event_duplicates}
                for c in self.clients if c.spec.token
            ],
            "acked_ids": self.acked_ids,
        }

    async def close(self) -> dict:
        """The closing handshake on every connection at once (chatd answers each), bounded."""
        for client in self.clients:
            client.transport.send_close(WSCloseCode.OK)
        waits = [asyncio.ensure_future(c.transport.wait_disconnected()) for c in self.clients]
        if waits:
            await asyncio.wait(waits, timeout=CLOSE_TIMEOUT)
        for client in self.clients:
            client.transport.disconnect()
        if self._http is not None:
            await self._http.close()
        self.clients, self.acked_ids = [], []
        return {"event": "closed"}


async def _edit_times(client: Client, index: int, command: Command, deadline: float) -> AsyncIterator[float]:
    """When a sender edits its latest message: at its pace, the senders spread over one
    interval, until the deadline (none if it has sent nothing)."""
    interval = 1.0 / command.rate
    next_at = command.start_at + (index % 97) / 97 * interval
    while client.own_latest is not None:
        await asyncio.sleep(max(0.0, next_at - time.time()))
        next_at += interval
        now = time.time()
        if now >= deadline or client.dropped:
            return
        yield now


@functools.cache
def _http_base(ws_url: str) -> str:
    """chatd's REST root, from its gateway's URL."""
    return ws_url.replace("ws", "http", 1).removesuffix("/chat/ws")


class StampedEdit(aiohttp.BytesPayload):
    """An edit's body, {"text": "<time> <process> <padding>"}, its time read as aiohttp writes
    it, as a WebSocket send's is read right before its write. Stamped when the request was
    made, the time aiohttp's client took to write it counted as the edit's latency: on a load
    generator busy reading the fan-out, 2 ms at the median and 20 ms at p99 before chatd had
    a byte of it. The time has a fixed width, so the length is known before it is read."""

    def __init__(self, proc: int, pad: str):
        self._proc, self._pad = proc, pad
        super().__init__(self._stamped(), content_type="application/json")

    def _stamped(self) -> bytes:
        return _encode({"text": f"{time.time():.6f} {self._proc} {self._pad}"})

    async def write(self, writer) -> None:
        self._value = self._stamped()
        await super().write(writer)

    async def write_with_length(self, writer, content_length: int | None) -> None:
        self._value = self._stamped()
        await super().write_with_length(writer, content_length)


@functools.cache
def _ipv4_loopback(url: str) -> bool:
    try:
        address = ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return False
    return address.version == 4 and address.is_loopback


async def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "w"
    worker = Worker(name)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    decode = msgspec.json.Decoder(Command).decode
    while line := await reader.readline():
        command = decode(line)
        if command.cmd == "connect":
            reply = await worker.connect(command)
        elif command.cmd == "run":
            reply = await worker.run(command)
        elif command.cmd == "resume":
            reply = await worker.resume(command)
        elif command.cmd == "report":
            reply = worker.report()
        elif command.cmd == "close":
            reply = await worker.close()
        else:
            reply = {"event": "error", "message": f"unknown command {command.cmd!r}"}
        sys.stdout.buffer.write(_encode(reply) + b"\n")
        sys.stdout.flush()
        if command.cmd == "close":
            return


if __name__ == "__main__":
    uvloop.run(main())
