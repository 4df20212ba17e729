"""The layout phase: an ADMIN reorders a server of `layout_channels` channels in
`layout_categories` categories (PUT /chat/servers/{id}/layout: every channel dealt into a new
place), while a member listens on a WebSocket. Each reorder is timed over REST and set beside
the reorder statement alone (put_layout run on bare asyncpg, the work a reorder cannot do
without): the ratio is what the request adds to one statement. The member counts the
layout_updated events it gets: exactly one per reorder."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp

from chatd.bench import processes
from chatd.bench.ceilings import NOTIFY_CHANNEL
from chatd.bench.database import Member, Topology, populate
from chatd.bench.stats import quantiles_ms

WARMUP = 3


async def server(pool, queries, config, channels: int, categories: int) -> tuple[Topology, Member, Member]:
    """A server of an ADMIN and one member, with `categories` categories and `channels`
    channels (its #general too), all uncategorized to begin with."""
    users = await populate(pool, queries, config, 2, 2)
    owner, member = users.members
    for n in range(categories):
        await queries.create_category(pool, notify_channel=NOTIFY_CHANNEL, server_id=owner.server_id,
                                      name=f"category-{n}")
    for n in range(1, channels):
        await queries.create_channel(pool, notify_channel=NOTIFY_CHANNEL, server_id=owner.server_id,
                                     name=f"channel-{n}", type="TEXT", position=None, category_id=None)
    return users, owner, member


def shuffled(layout: dict, rng: random.Random) -> dict:
    """Every category in a new order and every channel dealt into a new place."""
    channels = [*layout["uncategorized"], *(i for c in layout["categories"] for i in c["channel_ids"])]
    categories = [c["id"] for c in layout["categories"]]
    rng.shuffle(channels)
    rng.shuffle(categories)
    lists: list[list] = [[] for _ in range(len(categories) + 1)]
    for n, channel in enumerate(channels):
        lists[n % len(lists)].append(channel)
    return {"version": layout["version"], "uncategorized": lists[0],
            "categories": [{"id": c, "channel_ids": ids} for c, ids in zip(categories, lists[1:])]}


async def reorders(served: processes.Served, pool, queries, owner: Member, member: Member, requests: int,
                   progress) -> dict:
    """`requests` reorders over REST, each followed by one of the statement alone; p50/p99 of
    each after a warm-up, and the layout_updated events the member got."""
    rng = random.Random(19)
    base = f"{served.url}/chat/servers/{owner.server_id}/layout"
    samples: dict[str, list[float]] = {"put": [], "statement": []}
    events = 0
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {owner.token}"}) as http, \
            aiohttp.ClientSession() as listening, \
            listening.ws_connect(served.url.replace("http", "ws", 1) + "/chat/ws", params={"token": member.token}) as ws:

        async def heard(version: int) -> None:
            """Read the member's events until the layout of `version`, counting layout_updated."""
            nonlocal events
            while True:
                event = await ws.receive_json(timeout=10)
                if event["type"] == "layout_updated":
                    events += 1
                    if event["layout"]["version"] >= version:
                        return

        async def current() -> dict:
            async with http.get(base) as resp:
                assert resp.status == 200, await resp.text()
                return await resp.json()

        layout = await current()
        for i in range(requests + WARMUP):
            change = shuffled(layout, rng)
            started = time.perf_counter()
            async with http.put(base, json=change) as resp:
                layout = await resp.json()
                assert resp.status == 200, layout
            if i >= WARMUP:
                samples["put"].append(time.perf_counter() - started)
            await heard(layout["version"])
            change = shuffled(layout, rng)
            ids = [*change["uncategorized"], *(i for c in change["categories"] for i in c["channel_ids"])]
            started = time.perf_counter()
            version = await queries.put_layout(
                pool, notify_channel=NOTIFY_CHANNEL, server_id=owner.server_id, version=change["version"],
                category_ids=[c["id"] for c in change["categories"]], channel_ids=ids,
                channel_categories=[None] * len(change["uncategorized"])
                + [c["id"] for c in change["categories"] for _ in c["channel_ids"]],
                channel_positions=[*range(len(change["uncategorized"])),
                                   *(n for c in change["categories"] for n in range(len(c["channel_ids"])))])
            assert version is not None
            if i >= WARMUP:
                samples["statement"].append(time.perf_counter() - started)
            layout = await current()
        await asyncio.sleep(0.5)  # anything more would be a second event for one reorder
        while True:
            try:
                event = await ws.receive_json(timeout=0.2)
            except asyncio.TimeoutError:
                break
            events += event["type"] == "layout_updated"
    out = {key: quantiles_ms(times) for key, times in samples.items()}
    out.update(reorders=requests + WARMUP, events=events, channels=len(ids), categories=len(change["categories"]))
    progress(f"PUT layout of {out['channels']} channels in {out['categories']} categories: p50 {out['put']['p50']} ms "
             f"(the statement alone {out['statement']['p50']} ms); {events} layout_updated for "
             f"{out['reorders']} reorders")
    return out
