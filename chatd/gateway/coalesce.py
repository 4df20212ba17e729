"""thread_updated at most once a second per thread, however fast replies come.

Coalesced where notes are delivered, not where they are sent: each process's listener hears
every process's notes, in commit order, so a thread's first change of a second goes out at
once and the rest of that second's changes as one frame with the latest state when the second
is up, whichever processes the replies were sent through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Coalescer(Generic[T]):
    """Hands `send` at most one item per key per `interval` seconds: the first at once, then
    the latest offered meanwhile when the interval is up (items later in commit order are newer
    states, so the latest is all that matters)."""

    def __init__(self, send: Callable[[T], None], interval: float = 1.0):
        self._send = send
        self._interval = interval
        self._held: dict[Hashable, T | None] = {}  # key -> what waits for its interval to end (None: nothing)

    def offer(self, key: Hashable, item: T) -> None:
        if key in self._held:
            self._held[key] = item
            return
        self._held[key] = None
        self._send(item)
        asyncio.get_running_loop().call_later(self._interval, self._release, key)

    def _release(self, key: Hashable) -> None:
        item = self._held.pop(key, None)
        if item is not None:
            self.offer(key, item)
