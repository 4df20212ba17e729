"""chatd under load: send throughput, fan-out and latency in one process and across several,
edits and a reaction storm, a resume of many channels, an invite accept storm, unread counts of
a reader of many channels, idle connections held, and history paging. Each returns plain
figures for the report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import aiohttp

from chatd.bench import processes
from chatd.bench.database import Member, Topology
from chatd.bench.flood import LoginFlood
from chatd.bench.loadgen import LoadGen
from chatd.bench.stats import merge, percentile, quantiles_ms, summary
from chatd.store.pool import fetch_rows

TEXT_BYTES = 16  # new_message frames of ~330 bytes: the product spec's fields plus a short text
# What the load generators do in each kind of trial (chatd.bench.worker's modes).
LOADGEN_MODES = {"max": "max", "unsearched": "max", "paced": "rate", "flooded": "rate", "react": "react",
                 "edit": "edit", "patch": "patch", "dm": "dm", "presence": "presence"}


def connection_specs(topology: Topology, servers: list[processes.Served], senders_per_server: int) -> list[dict]:
    """Member i connects to process i % P; the first few members of each server send."""
    specs, rank = [], Counter()
    for i, member in enumerate(topology.members):
        proc = i % len(servers)
        spec = {"url": servers[proc].url.replace("http", "ws") + "/chat/ws", "proc": proc, "token": member.token,
                "channel": str(member.channel_id), "server": str(member.server_id)}
        rank[member.server_id] += 1
        if rank[member.server_id] <= senders_per_server:
            spec.update(server_id=str(member.server_id), channel_id=str(member.channel_id))
            if member.dm_id is not None:
                spec.update(dm_id=str(member.dm_id))
        specs.append(spec)
    return specs


async def traffic(topology: Topology, servers: list[processes.Served], settings, progress,
                  offered_rate: float | None = None, paced: bool = True,
                  before_each_max_trial: Callable[[], Awaitable[None]] | None = None,
                  flood: Callable[[], LoginFlood] | None = None, changes: bool = False, dms: bool = False,
                  unsearched: Callable[[], contextlib.AbstractAsyncContextManager] | None = None) -> dict:
    """Clients of `topology` spread over `servers`, connected throughout. Without an offered
    rate: max-rate trials (each sender sends on its previous acknowledgement), then (unless
    `paced` is false) latency trials at half the median max; with one, only latency trials at
    that rate. `before_each_max_trial` runs with the clients connected and idle (a ceiling's
    trial, so that both see the machine at the same speed). With a `flood`, each latency trial
    is followed by one at the same rate during that flood ("flooded", its figures under
    "flood"): the two compared were run in turn. With `changes`, each max-rate trial is
    followed by a reaction storm ("react": every member toggles its reaction to its channel's
    latest message) and a presence storm ("presence": every member changes its status 5 times),
    and each latency trial by two where the senders edit their latest message instead at the
    same rate, over their sockets ("edit") and then over REST ("patch"). With `dms`, each
    latency trial is followed by one where the senders send into their 1:1 conversation ("dm")
    instead, at the same rate. With `unsearched`, each max-rate trial is followed by one inside
    that context (messages not kept searchable: "unsearched")."""
    specs = connection_specs(topology, servers, settings.senders_per_server)
    senders = sum(1 for s in specs if "channel_id" in s)
    result: dict = {"senders": senders, "max": [], "unsearched": [], "paced": [], "flooded": [], "flood": [],
                    "react": [], "edit": [], "patch": [], "dm": [], "presence": []}
    async with LoadGen(settings.workers) as loadgen:
        made = await loadgen.connect(specs)
        progress(f"{made['ok']:,} clients connected to {len(servers)} chatd process(es) "
                 f"in {made['seconds']:.1f} s ({made['failed']} failed), {senders} of them sending")
        result["connected"], result["connect_failed"] = made["ok"], made["failed"]
        plan = [] if offered_rate is not None else (
            ["max", *(["react", "presence"] if changes else []), *(["unsearched"] if unsearched else [])]
            * settings.trials)
        paced_plan = ["paced", *(["flooded"] if flood else []), *(["edit", "patch"] if changes else []),
                      *(["dm"] if dms else [])]
        plan += paced_plan * settings.trials if paced else []
        for mode in plan:
            if mode in ("paced", "edit", "patch", "dm") and offered_rate is None:
                offered_rate = 0.5 * fold(result["max"], "msgs_per_s")["median"]
            if mode == "max" and before_each_max_trial is not None:
                await before_each_max_trial()
            around = (flood() if mode == "flooded" else unsearched() if mode == "unsearched"
                      else contextlib.nullcontext())
            async with around as flooding:
                start, replies = await loadgen.run(LOADGEN_MODES[mode], settings.duration,
                                                   rate=(offered_rate or 0) / senders, text_bytes=TEXT_BYTES)
            figures = trial_figures(start, replies)
            result[mode].append(figures)
            if flooding is not None:
                result["flood"].append(flooding.figures())
            progress(f"  {mode} trial {len(result[mode])}/{settings.trials}: "
                     f"{figures['msgs_per_s']:,.0f} msgs/s, {figures['deliveries_per_s']:,.0f} deliveries/s, "
                     f"p50 {figures['same_p50_ms']} ms, p99 {figures['same_p99_ms']} ms"
                     + (f", cross-process p99 {figures['cross_p99_ms']} ms" if figures["cross_p99_ms"] else "")
                     + (f"; logins {flooding.figures()}" if flooding is not None else ""))
        result["offered_msgs_per_s"] = offered_rate
        result["reports"] = await loadgen.report()
    return result


def trial_figures(start: float, replies: list[dict]) -> dict:
    acked = sum(r["acked"] for r in replies)
    deliveries = sum(r["deliveries"] for r in replies)
    last_ack = max((r["last_ack"] for r in replies), default=0.0)
    last_delivery = max((r["last_delivery"] for r in replies), default=0.0)
    same = merge(r["latency"]["same"] for r in replies)
    cross = merge(r["latency"]["cross"] for r in replies)
    return {
        "sent": sum(r["sent"] for r in replies), "acked": acked, "errors": sum(r["errors"] for r in replies),
        "unacked": sum(r["unacked"] for r in replies),
        "msgs_per_s": acked / (last_ack - start) if acked else 0.0,
        "deliveries": deliveries,
        "deliveries_per_s": deliveries / (last_delivery - start) if deliveries else 0.0,
        "same_p50_ms": percentile(same, 0.5), "same_p99_ms": percentile(same, 0.99),
        "same_max_ms": percentile(same, 1.0),
        "cross_p50_ms": percentile(cross, 0.5), "cross_p99_ms": percentile(cross, 0.99),
        "cross_max_ms": percentile(cross, 1.0),
        "presence_pairs": dict(sum((Counter(r["presence_pairs"]) for r in replies), Counter())),
        "slow_closed": sum(r["slow_closed"] for r in replies),
    }


async def channel_seqs(pool, queries, topology: Topology) -> dict[str, tuple[int, int, int]]:
    """Each bench channel's (last seq, rows, last eventSeq)."""
    rows = queries.bench_channel_seqs(pool, channel_ids=topology.channel_ids)
    return {str(r["id"]): (r["last_seq"], r["rows"], r["last_event_seq"]) async for r in rows}


async def exactly_once(pool, queries, topology: Topology, before: dict[str, tuple[int, int, int]],
                       reports: list[dict]) -> dict:
    """Every member connected throughout must receive each message its channel got since
    `before` exactly once, and each change (by eventSeq: messages, edits, reactions) too;
    every acknowledged message must be in the database, and each channel must hold one row
    per seq."""
    after = await channel_seqs(pool, queries, topology)
    posted = {c: after[c][0] - before[c][0] for c in after}
    changed = {c: after[c][2] - before[c][2] for c in after}
    lost = duplicated = dropped = extra = changes_lost = changes_duplicated = changes_extra = 0
    acked_ids: list[str] = []
    for report in reports:
        acked_ids.extend(report["acked_ids"])
        for conn in report["connections"]:
            duplicated += conn["duplicates"]
            changes_duplicated += conn["event_duplicates"]
            if conn["dropped"]:
                dropped += 1
                continue
            missing = posted[conn["channel"]] - conn["channels"].get(conn["channel"], 0)
            lost, extra = lost + max(0, missing), extra + max(0, -missing)
            missing = changed[conn["channel"]] - conn["events"].get(conn["channel"], 0)
            changes_lost, changes_extra = changes_lost + max(0, missing), changes_extra + max(0, -missing)
    stored = await queries.bench_count_messages(pool, ids=acked_ids) if acked_ids else 0
    return {
        "lost": lost, "duplicated": duplicated, "unexpected": extra, "dropped_connections": dropped,
        "posted": sum(posted.values()), "acked": len(acked_ids), "acked_missing_from_db": len(acked_ids) - stored,
        "seq_gaps_in_db": sum(last - rows for last, rows, _ in after.values()),
        "changes": sum(changed.values()), "changes_lost": changes_lost, "changes_duplicated": changes_duplicated,
        "changes_unexpected": changes_extra,
    }


async def resume(server: processes.Served, token: str, cursors: dict, last: dict, trials: int,
                 before_each_trial: Callable[[], Awaitable[None]], progress) -> dict:
    """One client resumes every channel of `cursors` (id -> afterEventSeq) in one frame, once
    per trial, each right after `before_each_trial` (its ceiling's trial): changes/s from the
    frame to `resumed`, and whether each channel's changes up to `last` (its final eventSeq)
    all came, in order, none twice."""
    channels = {str(c): after for c, after in cursors.items()}
    expected = [last[c] - after for c, after in cursors.items()]
    out: dict = {"rates": [], "checks": []}
    async with LoadGen(1) as loadgen:
        made = await loadgen.connect([{"url": server.url.replace("http", "ws") + "/chat/ws", "token": token}])
        assert made["ok"] == 1, made
        for trial in range(trials):
            await before_each_trial()
            [reply] = await loadgen.resume(channels)
            check = {"finished": reply["finished"] == 1, "changes": reply["changes"],
                     "missing": sum(max(0, e - got) for e, got in zip(expected, reply["per_channel"])),
                     "unexpected": sum(max(0, got - e) for e, got in zip(expected, reply["per_channel"])),
                     "out_of_order_or_twice": reply["duplicates"],
                     "wrong_last_event_seq": sum(got != last[c] for c, got in zip(cursors, reply["last_event_seqs"]))}
            out["checks"].append(check)
            out["rates"].append(reply["changes"] / reply["seconds"] if reply["seconds"] else None)
            progress(f"  resume trial {trial + 1}/{trials}: {reply['changes']:,} changes of {len(channels)} channels "
                     f"in {reply['seconds'] or 0:.3f} s ({out['rates'][-1] or 0:,.0f}/s); {check}")
    return out


async def connections(database_url: str, secret_key: str, topology: Topology, hold: int, workers: int,
                      settle: float, progress) -> dict:
    """Idle authenticated connections one fresh chatd process holds (heartbeats on), how
    fast they connect, and its resident memory per connection."""
    server = await processes.chatd(database_url, secret_key).start()
    try:
        url = server.url.replace("http", "ws") + "/chat/ws"
        members = topology.members
        async with LoadGen(workers) as warm:  # the first connection loads code paths, not per-socket memory
            await warm.connect([{"url": url, "token": members[0].token}])
            await asyncio.sleep(0.5)
            before = processes.rss_kib(server.pid)
            async with LoadGen(workers) as loadgen:
                made = await loadgen.connect(
                    [{"url": url, "token": members[i % len(members)].token} for i in range(hold)], concurrency=100)
                progress(f"{made['ok']:,} idle connections in {made['seconds']:.1f} s "
                         f"({made['ok'] / made['seconds']:,.0f}/s, {made['failed']} failed); settling {settle:.0f} s")
                await asyncio.sleep(settle)
                after = processes.rss_kib(server.pid)
                reports = await loadgen.report()
        still = sum(1 for r in reports for c in r["connections"] if not c["dropped"])
        return {
            "attempted": hold, "held": still, "failed": made["failed"],
            "connect_per_s": made["ok"] / made["seconds"],
            "rss_before_kib": before, "rss_after_kib": after,
            "kib_per_conn": (after - before) / made["ok"] if made["ok"] else None,
        }
    finally:
        await server.stop()


async def history(server: processes.Served, pool, queries, token: str, server_id, channel_id,
                  depths: dict[str, int], requests: int, progress, reacted_depth: int | None = None) -> dict:
    """GET a 50-message page at each depth, with offset and with a before anchor at the same
    depth; p50/p99 over `requests` after a warm-up. With `reacted_depth`: the page before the
    anchor at that depth (whose messages carry reactions) against the next page (whose do not),
    their requests alternated."""
    url = f"{server.url}/chat/servers/{server_id}/channels/{channel_id}/messages"
    headers = {"Authorization": f"Bearer {token}"}
    out: dict = {"offset": {}, "before": {}}
    async with aiohttp.ClientSession(headers=headers) as http:

        async def timed(*pages: dict) -> list[list[float]]:
            samples: list[list[float]] = [[] for _ in pages]
            for i in range(requests + 3):
                for params, times in zip(pages, samples):
                    started = time.perf_counter()
                    async with http.get(url, params=params) as resp:
                        body = await resp.json()
                        assert resp.status == 200 and len(body) == 50, (resp.status, body)
                    if i >= 3:
                        times.append(time.perf_counter() - started)
            return samples

        for key, depth in depths.items():
            [offset] = await timed({"limit": "50", "offset": str(depth)})
            out["offset"][key] = quantiles_ms(offset)
            anchor = await queries.bench_message_at_depth(pool, channel_id=channel_id, depth=depth)
            [before] = await timed({"limit": "50", "before": str(anchor)})
            out["before"][key] = quantiles_ms(before)
            progress(f"history depth {depth:,}: offset p50 {out['offset'][key]['p50']} ms, "
                     f"before p50 {out['before'][key]['p50']} ms")
        if reacted_depth is not None:
            reacted, plain = [{"limit": "50", "before": str(await queries.bench_message_at_depth(
                pool, channel_id=channel_id, depth=depth))} for depth in (reacted_depth, reacted_depth + 50)]
            async with http.get(url, params=reacted) as resp:
                page = await resp.json()
            assert all(m["reactions"] for m in page), page[0]  # the page read is the one reacted to
            with_reactions, without = await timed(reacted, plain)
            out["reactions"] = {"with": quantiles_ms(with_reactions), "without": quantiles_ms(without),
                                "depth": reacted_depth}
            progress(f"history depth {reacted_depth:,} with reactions: p50 {out['reactions']['with']['p50']} ms, "
                     f"without {out['reactions']['without']['p50']} ms")
    return out


async def search(server: processes.Served, token: str, terms: dict[str, str], requests: int, progress) -> dict:
    """GET /chat/search for each term (sort=recent, a page of 25), one request at a time:
    p50/p99 over `requests` after a warm-up, by the term's label."""
    out: dict = {}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        for label, q in terms.items():
            times = []
            for i in range(requests + 3):
                started = time.perf_counter()
                async with http.get(f"{server.url}/chat/search", params={"q": q, "sort": "recent"}) as resp:
                    body = await resp.json()
                    assert resp.status == 200 and body["results"], (resp.status, q, body)
                if i >= 3:
                    times.append(time.perf_counter() - started)
            out[label] = {**quantiles_ms(times), "q": q, "results": len(body["results"])}
            progress(f"search {label} ({q!r}): p50 {out[label]['p50']} ms, p99 {out[label]['p99']} ms")
    return out


async def invite_storm(server: processes.Served, pool, queries, owner: Member, joiners: Topology, max_uses: int,
                       progress) -> dict:
    """Every user of `joiners` accepts one invite to the owner's server at once; `max_uses` of
    them may get in. How many did, and how fast the accepts were answered."""
    before = await member_count(pool, queries, owner.server_id)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async with http.post(f"{server.url}/chat/servers/{owner.server_id}/invites",
                             json={"max_uses": max_uses, "max_age_seconds": 0},
                             headers={"Authorization": f"Bearer {owner.token}"}) as resp:
            assert resp.status == 201, await resp.text()
            code = (await resp.json())["code"]

        async def accept(joiner: Member) -> tuple[int, float]:
            async with http.post(f"{server.url}/chat/invites/{code}/accept",
                                 headers={"Authorization": f"Bearer {joiner.token}"}) as resp:
                await resp.read()
                return resp.status, time.perf_counter()

        started = time.perf_counter()
        answers = await asyncio.gather(*(accept(joiner) for joiner in joiners.members))
    after = await member_count(pool, queries, owner.server_id)
    statuses = Counter(status for status, _ in answers)
    last_join = max((at for status, at in answers if status == 200), default=started)
    seconds = max(at for _, at in answers) - started
    figures = {
        "users": len(answers), "max_uses": max_uses, "joined": after - before, "accepted": statuses[200],
        "statuses": {str(status): n for status, n in sorted(statuses.items())},
        "joins_per_s": round(statuses[200] / (last_join - started), 1) if statuses[200] else 0.0,
        "answers_per_s": round(len(answers) / seconds, 1), "seconds": round(seconds, 3),
    }
    progress(f"invite accept storm: {figures['joined']} of {len(answers)} joined (max_uses {max_uses}), "
             f"{figures['joins_per_s']:,.0f} joins/s, every accept answered in {seconds:.2f} s "
             f"({figures['statuses']})")
    return figures


async def unreads(server: processes.Served, pool, queries, reader: Member, requests: int, progress) -> dict:
    """GET /chat/unreads for a reader of many channels against a plain query listing the same
    channels on bare asyncpg (bench_list_reader_channels), and the unreads statement alone on
    bare asyncpg (how much of the difference is the counts), and GET .../channels of the
    reader's server, which lists the same channels over HTTP (how much is HTTP and JSON), their
    requests in turn; p50/p99 over `requests` after a warm-up. Each is timed until its answer
    is in: the GETs' JSON is parsed after the clock stops, as it is the client's work (the
    queries' rows are decoded by asyncpg within their clock: that is how they answer)."""
    samples: dict[str, list[float]] = {"unreads": [], "plain": [], "statement": [], "listing": []}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {reader.token}"}) as http:

        async def get(path: str = "/chat/unreads") -> bytes:
            async with http.get(server.url + path) as resp:
                body = await resp.read()
                assert resp.status == 200, body
                return body

        async def listing() -> bytes:
            return await get(f"/chat/servers/{reader.server_id}/channels")

        async def plain() -> list:
            return await fetch_rows(queries, pool, "bench_list_reader_channels", user_id=reader.user_id)

        async def statement() -> list:
            return await fetch_rows(queries, pool, "list_unreads", user_id=reader.user_id)

        channels = set()
        for i in range(requests + 3):
            for key, request in (("unreads", get), ("plain", plain), ("statement", statement), ("listing", listing)):
                started = time.perf_counter()
                answer = await request()
                if i >= 3:
                    samples[key].append(time.perf_counter() - started)
                channels.add(len(answer if isinstance(answer, list) else json.loads(answer)))
    assert len(channels) == 1, channels  # every request listed the same channels
    out = {key: quantiles_ms(times) for key, times in samples.items()}
    out["channels"] = channels.pop()
    progress(f"GET /chat/unreads, {out['channels']:,} channels: p50 {out['unreads']['p50']} ms; plain query "
             f"{out['plain']['p50']} ms; the unreads statement alone {out['statement']['p50']} ms; GET of the "
             f"channels {out['listing']['p50']} ms")
    return out


async def member_count(pool, queries, server_id) -> int:
    return len([row async for row in queries.list_members(pool, server_id=server_id)])


def fold(trials: list[dict], key: str) -> dict:
    return summary(t[key] for t in trials)
