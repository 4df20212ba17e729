"""The ceilings: the same work with no chatd code in the path, measured in the same run.

chatd's figures are reported as ratios to these, because on a shared machine the absolute
numbers move with the neighbours' load while the ratios hold still.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

import asyncpg
import aiohttp

from chatd.bench import processes
from chatd.bench.loadgen import LoadGen
from chatd.bench.stats import quantiles_ms

POOL_SIZE = 8
NOTIFY_CHANNEL = "chatd_bench"


async def insert_per_row(database_url: str, queries, server_id, channel_id, user_id, duration: float,
                         seqs: itertools.count, notify: bool = False) -> float:
    """Rows/s of single-row INSERT ... RETURNING, each its own durable commit, pool of 8
    (with `notify`, each also sends a NOTIFY that no chatd listens to).

    Twice as many tasks as connections keep every connection busy between round trips.
    """
    # The named query's text, run on bare asyncpg with its parameters in declared order.
    sql = (queries.bench_insert_message_notify if notify else queries.bench_insert_message).sql
    extra = (NOTIFY_CHANNEL,) if notify else ()
    pool = await asyncpg.create_pool(database_url, min_size=POOL_SIZE, max_size=POOL_SIZE,
                                     server_settings={"synchronous_commit": "on"})
    done = 0

    async def writer(deadline: float) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await pool.fetchrow(sql, server_id, channel_id, user_id, "ceiling row", next(seqs), *extra)
            done += 1

    try:
        started = time.perf_counter()
        await asyncio.gather(*(writer(started + duration) for _ in range(POOL_SIZE * 2)))
        return done / (time.perf_counter() - started)
    finally:
        await pool.close()


async def notify_round_trip(database_url: str, queries, samples: int) -> dict[str, float | None]:
    """Round trip in ms: one connection listens, another notifies, until the callback runs."""
    listener, sender = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    arrived: asyncio.Queue[float] = asyncio.Queue()
    await listener.add_listener(NOTIFY_CHANNEL, lambda *_: arrived.put_nowait(time.perf_counter()))
    times = []
    try:
        for i in range(samples):
            started = time.perf_counter()
            await queries.bench_notify(sender, notify_channel=NOTIFY_CHANNEL, payload=str(i))
            times.append(await asyncio.wait_for(arrived.get(), 10) - started)
    finally:
        await listener.close()
        await sender.close()
    return quantiles_ms(times)


async def keyset_read(database_url: str, queries, cursors: dict, lim: int) -> float:
    """Rows/s of reading each channel's changes after its cursor with a plain keyset SELECT
    (bench_read_changes), channel after channel on one bare asyncpg connection, as one client's
    resume reads them; the statement is prepared by a first read that is not timed."""
    sql = queries.bench_read_changes.sql
    con = await asyncpg.connect(database_url)
    try:
        first = next(iter(cursors.items()))
        await con.fetch(sql, *first, lim)
        rows, started = 0, time.perf_counter()
        for channel_id, after in cursors.items():
            rows += len(await con.fetch(sql, channel_id, after, lim))
        return rows / (time.perf_counter() - started)
    finally:
        await con.close()


class FanoutCeiling:
    """Deliveries/s of one pre-serialized ~200-byte frame to `clients` raw aiohttp sockets,
    received and counted by the same kind of load generator that measures chatd.

    Kept connected (an idle server and idle clients cost nothing) so that each of its trials
    can run right before one of chatd's: fan-out rates on this host drift by tens of percent
    between minutes, which made a ratio of trials a minute apart read anywhere from 0.7 to 1.4.
    """

    def __init__(self, clients: int, workers: int, deliveries: int):
        self._clients, self._workers, self._deliveries = clients, workers, deliveries
        self.sockets = 0

    async def __aenter__(self) -> FanoutCeiling:
        async with contextlib.AsyncExitStack() as stack:  # unwinds what started if a step fails
            self._server = await processes.rawserver().start()
            stack.push_async_callback(self._server.stop)
            self._loadgen = await stack.enter_async_context(LoadGen(self._workers))
            made = await self._loadgen.connect([{"url": self._server.url.replace("http", "ws") + "/ws"}] * self._clients)
            self.sockets = made["ok"]
            self._http = await stack.enter_async_context(aiohttp.ClientSession())
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc) -> None:
        await self._stack.aclose()

    async def trial(self) -> float:
        rounds = max(1, self._deliveries // max(1, self.sockets))
        run = asyncio.create_task(self._loadgen.run("listen", 0.5))
        await asyncio.sleep(0.05)  # the run command reaches the workers first
        started = time.time()
        async with self._http.post(f"{self._server.url}/blast?rounds={rounds}") as resp:
            await resp.read()
        _, replies = await run
        got = sum(r["deliveries"] for r in replies)
        last = max(r["last_delivery"] for r in replies)
        return got / (last - started) if got else 0.0


async def connect_rate(clients: int, workers: int) -> float:
    """Connections/s the bare aiohttp server accepts from the same load generators, with the
    same concurrency as the idle-connections phase: a WebSocket handshake and nothing else
    (chatd adds the token check, one query for the user and their servers, `connected`)."""
    server = await processes.rawserver().start()
    try:
        async with LoadGen(workers) as loadgen:
            url = server.url.replace("http", "ws") + "/ws"
            await loadgen.connect([{"url": url}])  # the first connection loads code paths
            made = await loadgen.connect([{"url": url}] * clients, concurrency=100)
        return made["ok"] / made["seconds"]
    finally:
        await server.stop()
