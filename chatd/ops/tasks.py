"""Stopping the background tasks a cleanup_ctx started."""

from __future__ import annotations

import asyncio


async def cancel_and_wait(*tasks: asyncio.Task | None) -> None:
    """Cancel the tasks (None: one never started) and wait until each has ended, so the next
    cleanup step does not race them for what they use (the pool, the hub).

    A task's own CancelledError is the end asked for. Anything else still surfaces: the
    caller's cancellation while it waits (gather re-raises it), and an error a task had died
    of. asyncio.current_task().cancelling() cannot tell the two cancellations apart: aiohttp
    runs the cleanup after a SIGTERM inside its main task, which it has already cancelled.
    """
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    for outcome in await asyncio.gather(*running, return_exceptions=True):
        if isinstance(outcome, Exception):  # CancelledError is a BaseException only
            raise outcome
