"""Cycle collection for a process that holds many long-lived sockets.

CPython's full collection re-examines every object it tracks each time the objects that
survived into its oldest generation have grown by a quarter. A chat server's survivors are
its open connections, about 90 tracked objects each (aiohttp's and chatd's): with 15,000 of
them a full collection stops the event loop for ~0.4 s, and through a reconnect storm the
re-examining is a fifth of the CPU each connect costs (measured with the bench).

So what survives a full collection is frozen (gc.freeze) and later collections look only at
what is newer. A closed connection's objects are reference cycles that only the collector
reclaims, so the frozen objects are handed back (gc.unfreeze), for the next full collection to
sweep, once a quarter as many connections as are open (at least MIN_CLOSED) have closed since
the last hand-back, and at least every RELEASE_SECONDS whatever happened.

And the youngest generation is collected after YOUNG_THRESHOLD new objects, not CPython's 700.
A resume reads its changes a thousand rows at a time, records and ids freed together a few
milliseconds later: at 700, each resume of 10,000 changes ran ~44 young and 4 middle
collections over them, ~10 ms of its ~90 ms of CPU; at 20,000, none.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

from aiohttp import web

from chatd import keys
from chatd.ops.tasks import cancel_and_wait

YOUNG_THRESHOLD = 20_000
MIN_CLOSED = 1000
RELEASE_SECONDS = 600.0
CHECK_SECONDS = 5.0
OLDEST_GENERATION = len(gc.get_threshold()) - 1


class FrozenSurvivors:
    """Freezes what survives each full collection; release_if_due() hands it back."""

    def __init__(self, open_count: Callable[[], int], closed_count: Callable[[], int],
                 min_closed: int = MIN_CLOSED, release_seconds: float = RELEASE_SECONDS):
        self._open_count, self._closed_count = open_count, closed_count
        self._min_closed, self._release_seconds = min_closed, release_seconds
        self._closed_at_release, self._released_at = closed_count(), time.monotonic()

    def start(self) -> None:
        self._thresholds = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, *self._thresholds[1:])
        gc.callbacks.append(self._after_collection)

    def stop(self) -> None:
        gc.callbacks.remove(self._after_collection)
        gc.set_threshold(*self._thresholds)
        gc.unfreeze()

    def release_if_due(self) -> bool:
        closed = self._closed_count() - self._closed_at_release
        if closed < max(self._min_closed, self._open_count() // 4) and \
                time.monotonic() - self._released_at < self._release_seconds:
            return False
        gc.unfreeze()
        self._closed_at_release, self._released_at = self._closed_count(), time.monotonic()
        return True

    def _after_collection(self, phase: str, info: dict) -> None:
        if phase == "stop" and info["generation"] == OLDEST_GENERATION:
            gc.freeze()


async def gc_freeze_ctx(app: web.Application):
    """cleanup_ctx (after the gateway, whose hub counts the connections)."""
    hub = app[keys.hub]
    survivors = FrozenSurvivors(lambda: hub.connection_count, lambda: hub.closed_count)
    survivors.start()
    task = asyncio.create_task(_release_when_due(survivors))
    yield
    await cancel_and_wait(task)
    survivors.stop()


async def _release_when_due(survivors: FrozenSurvivors) -> None:
    while True:
        await asyncio.sleep(CHECK_SECONDS)
        survivors.release_if_due()
