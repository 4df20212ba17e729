"""Stopping background tasks at shutdown."""

from __future__ import annotations

import asyncio


async def cancel_and_wait(*tasks: asyncio.Task | None) -> None:
    """Cancel the tasks and wait until they have finished: their CancelledError is the expected
    end, not an error; a cancellation of the caller itself still propagates."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
