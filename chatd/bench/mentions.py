"""The mentions phase: what resolving mentions costs sends, and @everyone in a big server.

- Durable sends (REST, answered after the commit) by concurrent senders of one server, in
  trials alternating between plain texts and texts mentioning two members (one by `@name`, one
  by `<@id>`), each trial of one kind next to one of the other: the throughput with mention
  resolution against without, the median of those pairs' ratios. The other members
  connected listen in a load generator (chatd.bench.worker), as the fan-out's do.
- `@everyone` from the server's ADMIN in a server of `everyone_members`: the rows written per
  message (the message and its mention rows: constant, whatever the members), and send→receive
  p99 of @everyone messages against plain ones, alternating, with `mention_receivers` members
  connected (each hears every message, and a `notification` for each @everyone one).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time

import aiohttp

from chatd.bench import processes
from chatd.bench.database import cleanup, populate
from chatd.bench.loadgen import LoadGen
from chatd.bench.stats import quantiles_ms, summary


async def measure(server: processes.Served, pool, queries, config, settings, own: bool, progress) -> dict:
    """`own`: the database is the bench's own (thrown away after): nothing to clean up."""
    progress(f"chatd: mentions, a server of {settings.everyone_members:,} members")
    big = await populate(pool, queries, config, settings.everyone_members, settings.everyone_members)
    admin, members = big.members[0], big.members[1:]
    names = {m.user_id: f"{big.prefix}{i + 1}" for i, m in enumerate(members)}  # populate names users in order
    channel = f"{server.url}/chat/servers/{admin.server_id}/channels/{admin.channel_id}/messages"
    rng = random.Random(17)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http, LoadGen(1) as listeners:
            # The members listening, but one, in a load generator of their own: read here, with
            # aiohttp, their frames took more of the machine than chatd did, and the sends'
            # rate fell from trial to trial as this process fell behind.
            listening = members[1:settings.mention_receivers]
            made = await listeners.connect([{"url": server.url.replace("http", "ws") + "/chat/ws", "token": m.token}
                                            for m in listening])
            assert made["ok"] == len(listening), made
            receiver = await _connect(http, server, members[0])
            sender = await _connect(http, server, admin)
            senders = members[settings.mention_receivers:settings.mention_receivers + settings.mention_senders]

            def plain(n: int) -> str:
                return f"plain {n}"

            def mentioning(n: int) -> str:
                a, b = rng.sample(members, 2)
                return f"hey @{names[a.user_id]} and <@{b.user_id}> {n}"

            rates: dict[str, list[float]] = {"plain": [], "mentions": []}
            kinds = (("plain", plain), ("mentions", mentioning))
            for trial in range(settings.trials):
                # In turn, the order reversed every other trial (plain, mentions, mentions, plain,
                # ...): rates drift over a phase, and a fixed order gave one kind the later minutes.
                for kind, text in kinds if trial % 2 == 0 else kinds[::-1]:
                    rates[kind].append(await _throughput(http, channel, senders, text, settings.duration))
                    progress(f"  sends with {kind}, trial {trial + 1}: {rates[kind][-1]:,.0f} msgs/s")
            before_rows = await queries.bench_mention_rows(pool, channel_id=admin.channel_id)
            latency: dict[str, list[float]] = {"plain": [], "everyone": []}
            counter = itertools.count()
            sent_everyone = 0
            for _ in range(settings.everyone_samples):
                for kind in ("plain", "everyone"):
                    n = next(counter)
                    text = f"@everyone {n}" if kind == "everyone" else f"plain {n}"
                    latency[kind].append(await _send_receive(sender, admin.server_id, admin.channel_id, text,
                                                             f"bench-mention-{n}", receiver))
                    sent_everyone += kind == "everyone"
                    await asyncio.sleep(0.02)
            rows = await queries.bench_mention_rows(pool, channel_id=admin.channel_id) - before_rows
            for socket in (sender, receiver):
                await socket.close()
    finally:
        if not own:
            await cleanup(pool, queries, big.prefix)
    plain_p99, everyone_p99 = quantiles_ms(latency["plain"])["p99"], quantiles_ms(latency["everyone"])["p99"]
    out = {
        "members": settings.everyone_members, "senders": len(senders), "receivers": len(listening) + 1,
        "plain_msgs_per_s": summary(rates["plain"]), "mention_msgs_per_s": summary(rates["mentions"]),
        # Each mention trial against the plain one beside it in time, the median of those
        # ratios: the rates drift over a phase (up or down by a fifth), which a ratio of the
        # two medians, taken over trials minutes apart, reads as a cost.
        "send_ratio": summary(m / p for m, p in zip(rates["mentions"], rates["plain"]) if p)["median"],
        "everyone_rows_per_message": round((sent_everyone + rows) / sent_everyone, 3) if sent_everyone else None,
        "everyone_messages": sent_everyone,
        "plain_latency_ms": quantiles_ms(latency["plain"]), "everyone_latency_ms": quantiles_ms(latency["everyone"]),
        "latency_ratio": _ratio(everyone_p99, plain_p99),
    }
    progress(f"  sends with mentions {out['send_ratio']}x plain; @everyone: {out['everyone_rows_per_message']} rows "
             f"per message, p99 {everyone_p99} ms against {plain_p99} ms plain ({out['latency_ratio']}x)")
    return out


class _Socket:
    """A member's socket, read all along (a socket not read is closed as slow); `wait(key)` is
    the moment the first frame containing `key` arrives."""

    def __init__(self, ws):
        self.ws = ws
        self.waiting: dict[str, asyncio.Future] = {}
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            for key, future in list(self.waiting.items()):
                if key in frame.data and not future.done():
                    future.set_result(time.perf_counter())

    def wait(self, key: str) -> asyncio.Future:
        future = self.waiting[key] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda _: self.waiting.pop(key, None))
        return future

    async def close(self) -> None:
        await self.ws.close()
        await self.task


async def _connect(http, server, member) -> _Socket:
    ws = await http.ws_connect(server.url + "/chat/ws", params={"token": member.token})
    assert (await ws.receive_json(timeout=30))["type"] == "connected"
    return _Socket(ws)


async def _send_receive(sender: _Socket, server_id, channel_id, text: str, nonce: str, receiver: _Socket) -> float:
    """Seconds from a send over the sender's socket to its new_message (which carries the
    nonce) on the receiver's."""
    arrived = receiver.wait(nonce)
    started = time.perf_counter()
    await sender.ws.send_json({"type": "send_message", "serverId": str(server_id), "channelId": str(channel_id),
                               "text": text, "nonce": nonce})
    return await asyncio.wait_for(arrived, 30) - started


async def _throughput(http, channel: str, senders, text, duration: float) -> float:
    """Durable sends per second: each sender POSTs one after the other for `duration`."""
    deadline = time.monotonic() + duration
    counter = itertools.count()
    sent = 0

    async def send(member) -> None:
        nonlocal sent
        headers = {"Authorization": f"Bearer {member.token}"}
        while time.monotonic() < deadline:
            async with http.post(channel, json={"text": text(next(counter))}, headers=headers) as resp:
                assert resp.status == 201, await resp.text()
                sent += 1

    started = time.monotonic()
    await asyncio.gather(*(send(m) for m in senders))
    return sent / (time.monotonic() - started)


def _ratio(a, b):
    return round(a / b, 3) if a is not None and b else None

