"""Requests that arrive while a batch is being served wait and go together in the next one.

One round trip serves many, and nothing waits on a timer: with nothing in flight a request
leaves at once (alone, at low load); under load batches grow by themselves to what arrives
during one round trip. Used for sends (group commit) and for WebSocket connects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 500
DRAIN_SECONDS = 5.0


class Batcher(Generic[T, R]):
    """`serve` gets a batch and answers each item in order: a result, or an exception for
    that item alone. If it raises, every item of the batch gets that exception."""

    def __init__(self, serve: Callable[[list[T]], Awaitable[list[R | Exception]]]):
        self._serve = serve
        self._waiting: list[tuple[T, asyncio.Future]] = []
        self._server: asyncio.Task | None = None

    async def submit(self, item: T) -> R:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._server is None:
            self._server = asyncio.get_running_loop().create_task(self._serve_while_waiting())
        return await future

    async def drain(self) -> None:
        """At shutdown: let the batch in flight finish and answer its requests."""
        if self._server is not None:
            await asyncio.wait({self._server}, timeout=DRAIN_SECONDS)

    async def _serve_while_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    results = await self._serve([item for item, _ in batch])
                except asyncio.CancelledError:
                    for _, future in batch:
                        _settle(future, ConnectionError("chatd is shutting down"))
                    raise
                except Exception as error:  # e.g. the connection was lost: each request learns of it
                    results = [error] * len(batch)
                for (_, future), result in zip(batch, results):
                    _settle(future, result)
        finally:
            # Cleared in the same step that found nothing left (no await in between), so a
            # request arriving next always finds either this task or none and starts one.
            self._server = None


def _settle(future: asyncio.Future, result) -> None:
    """A requester that went away (its socket closed) has a cancelled future: nothing to do."""
    if future.done():
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
