"""`python -m chatd bench`: start what is needed, measure, print a table (and --json).

Order matters on a shared 2-core machine: ceilings first (they also load the history table
by COPY), then chatd in one process (its send trials alternate with the per-row INSERT
ceiling's, and its maximum-rate fan-out trials with the raw fan-out ceiling's: what each is
compared with; each is followed by a reaction storm, and each latency trial by edits at the
same rate, over the sockets and by PATCH), then across processes, then one process again at
the same rate with and without a login flood (in turn), history paging (pages with and
without reactions in turn), a resume of many channels (its trials alternate with the keyset
SELECT's), an invite accept storm, GET /chat/unreads (in turn with a plain query listing the
same channels), replies into a long thread (in turn with an empty channel) and a channel's
threads (in turn with a history page), one big file uploaded and downloaded (against a copy
on the same disk), and last the many idle connections (a fresh process, so its memory delta
is the connections' alone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import resource
import secrets
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from chatd.bench import attachments, ceilings, layout, mentions, phases, processes, report, threads
from chatd.bench.database import (
    bench_queries, cleanup, copy_history, database, fill_changes, join_servers, populate,
)
from chatd.bench.flood import LoginFlood
from chatd.bench.stats import summary
from chatd.config import Config
from chatd.store.pool import create_pool


HISTORY_EMOJI = "\N{THUMBS UP SIGN}\N{PARTY POPPER}\N{FIRE}\N{FACE WITH TEARS OF JOY}\N{EYES}\N{ROCKET}"
RESUME_READ = 1000  # the keyset ceiling's LIMIT: each channel's changes in one read


@dataclass(frozen=True)
class Settings:
    clients: int = 1000
    members: int = 100
    duration: float = 5.0  # seconds per trial
    trials: int = 3
    processes: int = 2  # chatd processes in the cross-process phase
    # Load-generator processes. Traffic (and the fan-out ceiling) uses one: on 2 cores a second
    # one only added contention (two full runs back to back: p99 at half the maximum rate 10.3 ms
    # with one, 32.7 ms with two; maximum 2,102 against 1,754 msgs/s). The connect storms use
    # two, as each connect costs the client about what it costs chatd.
    workers: int = 1
    connect_workers: int = 2
    senders_per_server: int = 10
    solo_senders: int = 200  # the send phase: each alone in a server, so a message is delivered once
    hold: int = 15000  # idle connections to open against one process
    history_rows: int = 200_000  # in the paged channel...
    table_rows: int = 1_000_000  # ...of a table this big
    depths: tuple[int, int, int] = (0, 10_000, 100_000)
    history_requests: int = 30
    fanout_deliveries: int = 500_000  # per raw fan-out trial (~2-3 s)
    resume_channels: int = 100  # one client resumes this many channels...
    resume_changes: int = 100  # ...with this many missed changes each
    reaction_emoji: int = 5  # the history page with reactions: this many emoji on each message...
    reaction_users: int = 20  # ...from this many users each
    flood_logins_per_s: float = 200.0  # wrong-password logins during the login-flood trials
    invite_users: int = 500  # users accepting one invite at once...
    invite_uses: int = 100  # ...of this many uses
    search_servers: int = 50  # search's user is in this many servers, one of them holding table_rows
    search_requests: int = 30
    unread_channels: int = 1000  # GET /chat/unreads for a reader of this many channels...
    unread_messages: int = 20  # ...each with this many messages, half of them unread
    unread_requests: int = 30
    thread_replies: int = 100_000  # a reply into a thread this long...
    thread_sends: int = 300  # ...this many times, in turn with a message into an empty channel
    thread_count: int = 10_000  # the open threads of a channel with this many threads...
    thread_requests: int = 30  # ...listed this many times, in turn with a history page
    everyone_members: int = 10_000  # the mentions phase (chatd.bench.mentions): a server this big...
    mention_senders: int = 20  # ...its members sending with and without mentions...
    mention_receivers: int = 200  # ...these connected...
    everyone_samples: int = 400  # ...and this many @everyone messages, as many plain ones (a p99 of
    # 100 samples is their maximum: one stall decided it)
    layout_channels: int = 500  # a reorder of this many channels...
    layout_categories: int = 20  # ...in this many categories
    layout_requests: int = 30
    attachment_bytes: int = 1024**3  # the file uploaded and downloaded
    only: str | None = None  # run this phase alone (--only)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        base = cls.quick() if args.quick else cls()
        given = {k: v for k, v in (("clients", args.clients), ("members", args.members),
                                   ("duration", args.duration), ("trials", args.trials),
                                   ("processes", args.processes), ("only", args.only)) if v is not None}
        return cls(**{**asdict(base), **given})

    @classmethod
    def quick(cls) -> Settings:
        """For CI, which checks that every figure comes out, not what it is: fewer clients, two
        trials of 1 s each (the trials still alternate with their ceilings'), a 20k-message history."""
        return cls(clients=200, members=50, duration=1.0, trials=2, senders_per_server=5, solo_senders=50, hold=1000,
                   history_rows=20_000, table_rows=40_000, depths=(0, 2_000, 19_000),
                   history_requests=10, fanout_deliveries=40_000, resume_channels=20, resume_changes=50,
                   invite_users=100, invite_uses=20, search_requests=10, unread_channels=200, unread_requests=10,
                   layout_requests=10,
                   everyone_members=500, mention_senders=10, mention_receivers=20, everyone_samples=30,
                   thread_replies=5_000, thread_sends=40, thread_count=500, thread_requests=5,
                   attachment_bytes=16 * 1024**2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, help="WebSocket clients in the load phases (default 1000)")
    parser.add_argument("--members", type=int, help="members per server (default 100)")
    parser.add_argument("--duration", type=float, help="seconds per trial (default 5)")
    parser.add_argument("--trials", type=int, help="trials of each measured phase (default 3)")
    parser.add_argument("--processes", type=int, help="chatd processes in the cross-process phase (default 2)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--quick", action="store_true", help="a small run that finishes in under a minute (CI)")
    parser.add_argument("--only", choices=sorted(ONLY), help="run one phase alone (with its own setup)")


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_args(args)
    began = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {line}", file=sys.stderr, flush=True)

    progress(raise_open_files(settings))
    results = asyncio.run(bench(Config.from_env(), settings, progress))
    results["elapsed_s"] = round(time.monotonic() - began, 1)
    print(report.only_table(results) if settings.only else report.table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        progress(f"wrote {args.json}")
    return 0


def raise_open_files(settings: Settings) -> str:
    """Every connection is a file descriptor in chatd and in a load generator."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    needed = settings.hold + 1000
    if soft < needed:
        return (f"open files limited to {soft} (hard limit {hard}); {settings.hold:,} idle connections need about "
                f"{needed:,}: raise it with `ulimit -Hn {needed}` as root, or LimitNOFILE= under systemd")
    return f"open files limit {soft}"


async def bench(config: Config, settings: Settings, progress) -> dict:
    secret_key = config.secret_key or secrets.token_urlsafe(32)
    config = Config(secret_key=secret_key, token_expire_minutes=120)
    with database(Config.from_env()) as (url, own):
        progress(f"database ready ({'embedded, in a temporary directory' if own else 'configured'})")
        queries = bench_queries()
        pool = await create_pool(url, max_size=10)
        try:
            if settings.only:
                return await ONLY[settings.only](url, own, pool, queries, config, settings, progress)
            return await measure(url, own, pool, queries, config, settings, progress)
        finally:
            await pool.close()


async def measure(url, own, pool, queries, config, settings: Settings, progress) -> dict:
    db_settings = dict(await queries.bench_database_settings(pool))
    topology = await populate(pool, queries, config, settings.clients, settings.members,
                              dm_senders=settings.senders_per_server)
    solo = await populate(pool, queries, config, settings.solo_senders, 1)
    joiners = await populate(pool, queries, config, settings.invite_users, 1)
    progress(f"{settings.clients:,} users in servers of {settings.members}; "
             f"{settings.solo_senders} users alone in a server each")
    owner = topology.members[0]
    try:
        # Ceilings. The COPY trials fill the history: one paged channel, the rest in a filler channel.
        history_server = await queries.create_server(pool, name=f"{topology.prefix}history", icon=None,
                                                     creator_id=owner.user_id)
        [_ async for _ in queries.add_members(pool, notify_channel="chatd_bench", server_id=history_server["id"],
                                              user_ids=[owner.user_id], roles=["ADMIN"],
                                              invite_code=None)]  # no one listens
        history_channel = [c async for c in queries.list_channels(pool, server_id=history_server["id"])][0]["id"]
        filler = await queries.create_channel(pool, notify_channel="chatd_bench", server_id=history_server["id"],
                                              name="filler", type="TEXT", position=None, category_id=None)
        copy_rates = [await copy_history(pool, queries, history_server["id"], history_channel, owner.user_id,
                                         settings.history_rows)]
        progress(f"ceiling COPY: {copy_rates[-1]:,.0f} rows/s ({settings.history_rows:,} rows of history)")
        filler_rows = settings.table_rows - settings.history_rows
        chunk = max(1, filler_rows // max(1, settings.trials - 1))
        first = 1
        while filler_rows > 0:
            rows = min(chunk, filler_rows)
            copy_rates.append(await copy_history(pool, queries, history_server["id"], filler["id"], owner.user_id,
                                                 rows, first_seq=first))
            first, filler_rows = first + rows, filler_rows - rows
            progress(f"ceiling COPY: {copy_rates[-1]:,.0f} rows/s ({rows:,} filler rows)")
        reacted = await queries.bench_add_reactions(
            pool, channel_id=history_channel, depth=settings.depths[1], lim=50,
            emojis=list(HISTORY_EMOJI[:settings.reaction_emoji]),
            user_ids=[m.user_id for m in topology.members[:settings.reaction_users]])
        progress(f"{reacted:,} reactions on the history page at depth {settings.depths[1]:,}")
        resume_last = await resume_channels(pool, queries, settings, owner, topology)
        progress(f"{settings.resume_channels} channels with {settings.resume_changes} changes each to resume")
        readers, reader = await unread_reader(pool, queries, config, settings)
        thread_users = await populate(pool, queries, config, 2, 2)
        progress(f"a reader of {settings.unread_channels:,} channels, {settings.unread_messages} messages each")
        started = time.monotonic()
        await queries.bench_vacuum(pool)
        progress(f"VACUUM ANALYZE of the loaded tables: {time.monotonic() - started:.1f} s")
        notify = await ceilings.notify_round_trip(url, queries, 200)
        progress(f"ceiling LISTEN/NOTIFY round trip p50 {notify['p50']} ms")
        per_row, per_row_notify, fanout, seqs = [], [], [], itertools.count(first)

        async def insert_ceilings() -> None:
            """Per-row INSERT trials, each just before a send trial of chatd's: the ratio of the
            two then holds while the machine's speed drifts, as it does by tens of percent."""
            for rates, with_notify, label in ((per_row, False, "ceiling INSERT per row"),
                                              (per_row_notify, True, "INSERT + NOTIFY per row")):
                rates.append(await ceilings.insert_per_row(url, queries, history_server["id"], filler["id"],
                                                           owner.user_id, settings.duration, seqs, notify=with_notify))
                progress(f"{label}, pool of 8, trial {len(rates)}: {rates[-1]:,.0f} rows/s")

        first_process = await processes.chatd(url, config.secret_key).start()
        try:
            progress(f"chatd: one process, send throughput ({settings.solo_senders} senders, one member per server)")
            before = await phases.channel_seqs(pool, queries, solo)
            sends = await phases.traffic(solo, [first_process], settings, progress, paced=False,
                                         before_each_max_trial=insert_ceilings,
                                         unsearched=lambda: not_searchable(pool, queries, progress))
            sends_check = await phases.exactly_once(pool, queries, solo, before, sends.pop("reports"))
            progress(f"  exactly once: {sends_check}")
            progress(f"chatd: one process, fan-out ({settings.clients:,} clients in servers of {settings.members})")
            before = await phases.channel_seqs(pool, queries, topology)
            async with ceilings.FanoutCeiling(settings.clients, settings.workers,
                                              settings.fanout_deliveries) as raw_fanout:

                async def fanout_ceiling() -> None:
                    """A raw fan-out trial right before each of chatd's maximum-rate trials."""
                    fanout.append(await raw_fanout.trial())
                    progress(f"ceiling fan-out, trial {len(fanout)}: {fanout[-1]:,.0f} deliveries/s "
                             f"(bare aiohttp server, {raw_fanout.sockets:,} sockets)")

                single = await phases.traffic(topology, [first_process], settings, progress,
                                              before_each_max_trial=fanout_ceiling, changes=True, dms=True)
            ceiling = {"insert_per_row": summary(per_row), "insert_notify_per_row": summary(per_row_notify),
                       "insert_copy": summary(copy_rates), "fanout": summary(fanout), "notify_round_trip_ms": notify}
            single_check = await phases.exactly_once(pool, queries, topology, before, single.pop("reports"))
            progress(f"  exactly once: {single_check}")
            others = [await processes.chatd(url, config.secret_key).start() for _ in range(settings.processes - 1)]
            try:
                progress(f"chatd: {settings.processes} processes, one database")
                before = await phases.channel_seqs(pool, queries, topology)
                multi = await phases.traffic(topology, [first_process, *others], settings, progress,
                                             offered_rate=single["offered_msgs_per_s"])
                multi_check = await phases.exactly_once(pool, queries, topology, before, multi.pop("reports"))
                progress(f"  exactly once: {multi_check}")
            finally:
                for other in others:
                    await other.stop()
            progress(f"chatd: one process, fan-out at the same rate without and with a login flood "
                     f"({settings.flood_logins_per_s:,.0f} wrong-password logins/s, each from its own address)")
            before = await phases.channel_seqs(pool, queries, topology)
            numbers = itertools.count()
            flooded = await phases.traffic(
                topology, [first_process], settings, progress, offered_rate=single["offered_msgs_per_s"],
                flood=lambda: LoginFlood(first_process.url, settings.flood_logins_per_s, numbers))
            flood_check = await phases.exactly_once(pool, queries, topology, before, flooded.pop("reports"))
            progress(f"  exactly once: {flood_check}")
            depths = dict(zip(("0", "10000", "100000"), settings.depths))
            history = await phases.history(first_process, pool, queries, owner.token, history_server["id"],
                                           history_channel, depths, settings.history_requests, progress,
                                           reacted_depth=settings.depths[1])
            await join_servers(pool, queries, topology.prefix, owner.user_id, settings.search_servers - 1)
            progress(f"chatd: search of {settings.table_rows:,} messages by a user in "
                     f"{settings.search_servers} servers")
            searched = await phases.search(first_process, owner.token, search_terms(settings),
                                           settings.search_requests, progress)
            resumed, ceiling["keyset_read"] = await resume_phase(first_process, url, queries, owner, resume_last,
                                                                 settings, progress)
            progress(f"chatd: {settings.invite_users} users accept one invite of {settings.invite_uses} uses at once")
            invites = await phases.invite_storm(first_process, pool, queries, owner, joiners, settings.invite_uses,
                                                progress)
            progress(f"chatd: GET /chat/unreads of a reader of {settings.unread_channels:,} channels, in turn with a "
                     f"plain query listing them")
            unread = await phases.unreads(first_process, pool, queries, reader, settings.unread_requests, progress)
            mentioned = await mentions.measure(first_process, pool, queries, config, settings, own, progress)
            reordered = await layout_phase(first_process, pool, queries, config, settings, progress)
            progress(f"chatd: replies into a thread of {settings.thread_replies:,}, in turn with an empty channel; "
                     f"the threads of a channel of {settings.thread_count:,}")
            threaded = await threads.measure(
                first_process, pool, queries, thread_users, settings.thread_replies, settings.thread_count,
                settings.thread_sends, settings.thread_requests, progress)
        finally:
            await first_process.stop()
        progress(f"chatd: a {settings.attachment_bytes / 2**20:,.0f} MiB file uploaded and downloaded")
        files = await attachments.measure(url, config.secret_key, solo.members[0], settings.attachment_bytes,
                                          settings.trials, progress)
        raw_connects = await ceilings.connect_rate(settings.hold, settings.connect_workers)
        ceiling["connect_per_s"] = raw_connects
        progress(f"ceiling connect rate: {raw_connects:,.0f}/s ({settings.hold:,} bare aiohttp WebSocket handshakes)")
        held = await phases.connections(url, config.secret_key, topology, settings.hold, settings.connect_workers,
                                        settle=2.0, progress=progress)
        return {**report.results(settings, db_settings, ceiling, sends, single, multi, flooded,
                                 {"send": sends_check, "one_process": single_check, "processes": multi_check,
                                  "login_flood": flood_check},
                                 history, depths, held, resumed, invites, searched, unread, mentioned,
                                 reordered, threaded),
                "attachments": files}
    finally:
        if not own:
            await cleanup(pool, queries, topology.prefix)
            await cleanup(pool, queries, solo.prefix)
            await cleanup(pool, queries, joiners.prefix)
            await cleanup(pool, queries, readers.prefix)
            await cleanup(pool, queries, thread_users.prefix)


async def layout_phase(served, pool, queries, config, settings: Settings, progress) -> dict:
    """A reorder of `layout_channels` channels (chatd.bench.layout), on its own server."""
    progress(f"chatd: an ADMIN reorders {settings.layout_channels} channels in {settings.layout_categories} "
             f"categories, a member listening")
    users, owner, member = await layout.server(pool, queries, config, settings.layout_channels,
                                               settings.layout_categories)
    try:
        return await layout.reorders(served, pool, queries, owner, member, settings.layout_requests, progress)
    finally:
        await cleanup(pool, queries, users.prefix)


async def only_layout(url, own, pool, queries, config, settings: Settings, progress) -> dict:
    served = await processes.chatd(url, config.secret_key).start()
    try:
        return {"layout": await layout_phase(served, pool, queries, config, settings, progress)}
    finally:
        await served.stop()




async def only_attachments(url, own, pool, queries, config, settings: Settings, progress) -> dict:
    """`--only attachments`: one user alone in a server, and the attachments phase."""
    users = await populate(pool, queries, config, 1, 1)
    try:
        return {"attachments": await attachments.measure(url, config.secret_key, users.members[0],
                                                         settings.attachment_bytes, settings.trials, progress)}
    finally:
        if not own:
            await cleanup(pool, queries, users.prefix)


def search_terms(settings: Settings) -> dict[str, str]:
    """Search's terms, by label: a number (in a message or two) and a word in one in ten (copy_history)."""
    return {"a rare term": str(settings.history_rows // 2 + 7), "a term in one message of ten": "tenth"}


async def only_search(url, own, pool, queries, config, settings: Settings, progress) -> dict:
    """`--only search`: the searcher's database as the full run leaves it for the search phase
    (search_database), and the search phase."""
    users, others, owner = await search_database(pool, queries, config, settings, progress)
    try:
        served = await processes.chatd(url, config.secret_key).start()
        try:
            searched = await phases.search(served, owner.token, search_terms(settings), settings.search_requests,
                                           progress)
            return {"search": {"terms": searched, "servers": settings.search_servers,
                               "messages": settings.table_rows, "history_page_p50_ms": None}}
        finally:
            await served.stop()
    finally:
        if not own:
            await cleanup(pool, queries, users.prefix)
            await cleanup(pool, queries, others.prefix)


# What the full run's phases before the search add to the channels its searcher reads, per
# second of a trial (its 3 trials of 5 s each, measured at about these rates): the per-row
# INSERT ceilings' rows in the history server's filler channel (both ceilings, ~2,700 rows/s
# each), the traffic phases' sends into the searcher's own server (one of ten; 12 trials at the
# maximum rate or half of it) and into its conversation (one of a hundred, in the DM trials).
CEILING_ROWS_PER_S = 5_400
OWN_SERVER_SENDS_PER_S = 300
OWN_DM_SENDS_PER_S = 6


def sent_text(seq: int) -> str:
    """A text as the traffic phases' clients send it: the send time, the process, padding."""
    return f"{seq / 1000:.6f} 0 {'x' * phases.TEXT_BYTES}"


async def search_database(pool, queries, config, settings: Settings, progress):
    """What the full run holds when it searches, oldest first: the searcher a member (and a
    sender) of a server of `members`, with a conversation; the history server's `table_rows`
    messages in two channels; the resume server's channels, their messages edited and reacted to;
    the tables vacuumed then, as the full run does before its traffic; the ceiling rows in the
    filler channel; `table_rows` newer messages in a server the searcher is not in (several
    times what the full run's traffic phases send there); and the newest, the sends into the
    searcher's own channel and conversation. No message after the vacuum says either term, as in
    the full run. The searcher then joins servers up to `search_servers`. Returns (its users,
    the others, the searcher)."""
    users = await populate(pool, queries, config, settings.members, settings.members, dm_senders=1)
    others = await populate(pool, queries, config, 1, 1)
    owner, other = users.members[0], others.members[0]
    seconds = settings.trials * settings.duration
    ceiling_rows, own_sends = round(CEILING_ROWS_PER_S * seconds), round(OWN_SERVER_SENDS_PER_S * seconds)
    dm_sends = round(OWN_DM_SENDS_PER_S * seconds)
    now = datetime.now(timezone.utc)

    def at(newer_rows: int) -> datetime:
        """The newest time of rows with this many newer ones after them (copy_history's 1 ms apart)."""
        return now - timedelta(milliseconds=newer_rows)

    history_server = await queries.create_server(pool, name=f"{users.prefix}history", icon=None,
                                                 creator_id=owner.user_id)
    [_ async for _ in queries.add_members(pool, notify_channel="chatd_bench", server_id=history_server["id"],
                                          user_ids=[owner.user_id], roles=["ADMIN"], invite_code=None)]
    history = [c async for c in queries.list_channels(pool, server_id=history_server["id"])][0]["id"]
    filler = await queries.create_channel(pool, notify_channel="chatd_bench", server_id=history_server["id"],
                                          name="filler", type="TEXT", position=None, category_id=None)
    newer = ceiling_rows + settings.table_rows + own_sends + 2_000  # ms: the resume server's rows lie between
    await copy_history(pool, queries, history_server["id"], history, owner.user_id, settings.history_rows,
                       newest=at(newer))
    filler_rows = settings.table_rows - settings.history_rows
    await copy_history(pool, queries, history_server["id"], filler["id"], owner.user_id, filler_rows,
                       newest=at(newer))
    await resume_channels(pool, queries, settings, owner, users, newest=at(newer - 1_000))
    await queries.bench_vacuum(pool)
    await copy_history(pool, queries, history_server["id"], filler["id"], owner.user_id, ceiling_rows,
                       first_seq=filler_rows + 1, newest=at(settings.table_rows + own_sends),
                       text=lambda seq: "ceiling row")
    await copy_history(pool, queries, other.server_id, other.channel_id, other.user_id, settings.table_rows,
                       newest=at(own_sends), text=sent_text)
    await copy_history(pool, queries, owner.server_id, owner.channel_id, owner.user_id, own_sends, text=sent_text)
    await copy_history(pool, queries, None, owner.dm_id, owner.user_id, dm_sends, text=sent_text)
    await join_servers(pool, queries, users.prefix, owner.user_id, settings.search_servers - 1)
    progress(f"the searcher reads {settings.table_rows:,} messages of history, {settings.resume_channels} "
             f"channels' changes, {ceiling_rows:,} ceiling rows and {own_sends + dm_sends:,} sends; "
             f"{settings.table_rows:,} newer sends it does not read")
    return users, others, owner


async def only_unreads(url, own, pool, queries, config, settings: Settings, progress) -> dict:
    """`--only unreads`: the unreads phase's reader, the tables vacuumed, and the phase."""
    readers, reader = await unread_reader(pool, queries, config, settings)
    try:
        await queries.bench_vacuum(pool)
        served = await processes.chatd(url, config.secret_key).start()
        try:
            return {"unreads": report.unreads(await phases.unreads(served, pool, queries, reader,
                                                                   settings.unread_requests, progress))}
        finally:
            await served.stop()
    finally:
        if not own:
            await cleanup(pool, queries, readers.prefix)


async def resume_phase(served, url, queries, owner, last: dict, settings: Settings, progress) -> tuple[dict, dict]:
    """The owner resumes every channel of `last` from its start, each trial right after one of
    the keyset SELECT's: (the phase, the ceiling's summary)."""
    keyset, cursors = [], dict.fromkeys(last, 0)

    async def keyset_ceiling() -> None:
        keyset.append(await ceilings.keyset_read(url, queries, cursors, RESUME_READ))
        progress(f"ceiling keyset SELECT, trial {len(keyset)}: {keyset[-1]:,.0f} changes/s")

    progress(f"chatd: one client resumes {len(cursors)} channels in one frame")
    resumed = await phases.resume(served, owner.token, cursors, last, settings.trials, keyset_ceiling, progress)
    return resumed, summary(keyset)


async def only_resume(url, own, pool, queries, config, settings: Settings, progress) -> dict:
    """`--only resume`: the resume phase's channels (a server of `resume_changes` users lends
    them their reactors), the tables vacuumed, and the phase."""
    users = await populate(pool, queries, config, settings.resume_changes, settings.resume_changes)
    try:
        owner = users.members[0]
        last = await resume_channels(pool, queries, settings, owner, users)
        progress(f"{settings.resume_channels} channels with {settings.resume_changes} changes each to resume")
        await queries.bench_vacuum(pool)
        served = await processes.chatd(url, config.secret_key).start()
        try:
            resumed, keyset = await resume_phase(served, url, queries, owner, last, settings, progress)
        finally:
            await served.stop()
        return {"resume": report.resume(settings, {"keyset_read": keyset}, resumed)}
    finally:
        if not own:
            await cleanup(pool, queries, users.prefix)


async def only_flood(url, own, pool, queries, config, settings: Settings, progress) -> dict:
    """`--only flood`: the fan-out's users, their maximum rate measured, and the half-rate
    trials without and with a login flood in turn, as in the full run."""
    topology = await populate(pool, queries, config, settings.clients, settings.members,
                              dm_senders=settings.senders_per_server)
    try:
        served = await processes.chatd(url, config.secret_key).start()
        try:
            numbers = itertools.count()
            flooded = await phases.traffic(
                topology, [served], settings, progress,
                flood=lambda: LoginFlood(served.url, settings.flood_logins_per_s, numbers))
        finally:
            await served.stop()
        flooded.pop("reports")
        return {"login_flood": report.login_flood(settings, flooded)}
    finally:
        if not own:
            await cleanup(pool, queries, topology.prefix)


async def only_edits(url, own, pool, queries, config, settings: Settings, progress) -> dict:
    """`--only edits`: the fan-out's users, their maximum rate measured (each max-rate trial
    followed by the reaction and presence storms, as in the full run), and the half-rate
    latency trials in turn with the edit trials."""
    topology = await populate(pool, queries, config, settings.clients, settings.members)
    try:
        served = await processes.chatd(url, config.secret_key).start()
        try:
            single = await phases.traffic(topology, [served], settings, progress, changes=True)
        finally:
            await served.stop()
        single.pop("reports")
        return {"edits": report.edit_latency(single)}
    finally:
        if not own:
            await cleanup(pool, queries, topology.prefix)


async def only_mentions(url, own, pool, queries, config, settings: Settings, progress) -> dict:
    """`--only mentions`: the mentions phase, which makes its own big server."""
    served = await processes.chatd(url, config.secret_key).start()
    try:
        return {"mentions": await mentions.measure(served, pool, queries, config, settings, own, progress)}
    finally:
        await served.stop()


ONLY = {"layout": only_layout, "attachments": only_attachments, "resume": only_resume, "search": only_search,
        "unreads": only_unreads, "flood": only_flood, "edits": only_edits, "mentions": only_mentions}


async def unread_reader(pool, queries, config, settings: Settings):
    """A server of `unread_channels` channels with a reader in it, filled by bench_fill_unreads:
    (its users, the reader)."""
    users = await populate(pool, queries, config, 2, 2)
    owner, reader = users.members
    for n in range(1, settings.unread_channels):
        await queries.create_channel(pool, notify_channel=ceilings.NOTIFY_CHANNEL, server_id=owner.server_id,
                                     name=f"unread-{n}", type="TEXT", position=None, category_id=None)
    await queries.bench_fill_unreads(pool, server_id=owner.server_id, owner_id=owner.user_id,
                                     reader_id=reader.user_id, messages=settings.unread_messages)
    return users, reader


@contextlib.asynccontextmanager
async def not_searchable(pool, queries, progress) -> AsyncIterator[None]:
    """Messages sent inside are not made searchable (the search trigger off): trials that say
    what keeping them searchable costs sends. They are indexed afterwards."""
    await queries.bench_search_index_off(pool)
    try:
        yield
    finally:
        await queries.bench_search_index_on(pool)
        progress(f"  {await queries.bench_index_unsearched(pool):,} messages made searchable afterwards")


async def resume_channels(pool, queries, settings: Settings, owner, topology, newest: datetime | None = None) -> dict:
    """A server of `resume_channels` channels (the owner its only member), each holding
    `resume_changes` changes: 40% new messages (posted up to `newest`, default now), then edits
    of them and reactions. Each channel's last eventSeq."""
    server = await queries.create_server(pool, name=f"{topology.prefix}resume", icon=None, creator_id=owner.user_id)
    [_ async for _ in queries.add_members(pool, notify_channel=ceilings.NOTIFY_CHANNEL, server_id=server["id"],
                                          user_ids=[owner.user_id], roles=["ADMIN"], invite_code=None)]
    channels = [c["id"] async for c in queries.list_channels(pool, server_id=server["id"])]
    for n in range(len(channels), settings.resume_channels):
        channel = await queries.create_channel(pool, notify_channel=ceilings.NOTIFY_CHANNEL, server_id=server["id"],
                                               name=f"resume-{n}", type="TEXT", position=None,
                                               category_id=None)
        channels.append(channel["id"])
    messages = settings.resume_changes * 2 // 5
    edits = (settings.resume_changes - messages) // 2
    reactors = [m.user_id for m in topology.members[:settings.resume_changes - messages - edits]]
    gate = asyncio.Semaphore(8)

    async def fill(channel_id):
        async with gate:
            return channel_id, await fill_changes(pool, queries, server["id"], channel_id, owner.user_id, messages,
                                                  edits, reactors, ceilings.NOTIFY_CHANNEL, newest)

    return dict(await asyncio.gather(*(fill(c) for c in channels)))
