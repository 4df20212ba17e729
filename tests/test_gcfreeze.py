"""What survives a full collection is frozen, and handed back to the collector once enough
connections have closed (or enough time has passed), so closed sockets' cycles are reclaimed."""

from __future__ import annotations

import asyncio
import gc
import weakref

from chatd import keys
from chatd.ops.gcfreeze import YOUNG_THRESHOLD, FrozenSurvivors


class Node:
    other: Node


def garbage_cycle_once_dropped() -> Node:
    first, second = Node(), Node()
    first.other, second.other = second, first
    return first


def test_survivors_are_not_examined_again_until_handed_back():
    counts = {"open": 0, "closed": 0}
    survivors = FrozenSurvivors(lambda: counts["open"], lambda: counts["closed"], min_closed=10,
                                release_seconds=3600)
    survivors.start()
    try:
        held = garbage_cycle_once_dropped()
        ref = weakref.ref(held)
        gc.collect()
        assert gc.get_freeze_count() > 0
        del held
        gc.collect()
        assert ref() is not None, "a frozen cycle is left alone"
        counts["closed"] = 9
        assert not survivors.release_if_due()
        counts["closed"] = 10
        assert survivors.release_if_due()
        assert gc.get_freeze_count() == 0
        gc.collect()
        assert ref() is None, "handed back, the cycle is reclaimed"
    finally:
        survivors.stop()
    assert gc.get_freeze_count() == 0


def test_hand_back_waits_for_a_quarter_of_the_open_connections_to_close():
    counts = {"open": 8000, "closed": 500}
    survivors = FrozenSurvivors(lambda: counts["open"], lambda: counts["closed"], min_closed=1000,
                                release_seconds=3600)
    counts["closed"] = 500 + 1999
    assert not survivors.release_if_due()
    counts["closed"] = 500 + 2000
    assert survivors.release_if_due()
    counts["closed"] += 999
    assert not survivors.release_if_due(), "counted from the last hand-back"


def test_hand_back_happens_after_release_seconds_whatever_closed():
    survivors = FrozenSurvivors(lambda: 0, lambda: 0, min_closed=1000, release_seconds=0.0)
    assert survivors.release_if_due()


async def test_the_app_freezes_while_it_runs_and_counts_closed_sockets(client, alice):
    gc.collect()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    hub = client.app[keys.hub]
    ws = await client.ws_connect("/chat/ws", params={"token": alice.token})
    assert (await ws.receive_json())["type"] == "connected"
    await ws.close()
    for _ in range(100):
        if hub.closed_count == 1:
            break
        await asyncio.sleep(0.02)
    assert hub.closed_count == 1
    await client.close()
    assert gc.get_freeze_count() == 0, "a stopped app hands everything back"
    assert gc.get_threshold()[0] < YOUNG_THRESHOLD, "and the collector its thresholds"
