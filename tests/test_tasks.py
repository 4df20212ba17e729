"""cancel_and_wait: background tasks end before the next cleanup step, and a cancellation
or an error that is not the tasks' own expected end is never swallowed."""

from __future__ import annotations

import asyncio

import pytest

from chatd.ops.tasks import cancel_and_wait


async def test_every_task_given_has_ended_when_it_returns():
    ended = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # an end that takes a step: still waited for
            ended.append(name)

    tasks = [asyncio.create_task(forever(name)) for name in ("a", "b")]
    await asyncio.sleep(0)
    await cancel_and_wait(tasks[0], None, tasks[1])
    assert sorted(ended) == ["a", "b"]
    assert all(task.cancelled() for task in tasks)


async def test_nothing_to_stop_is_fine():
    await cancel_and_wait()
    await cancel_and_wait(None)


async def test_the_callers_own_cancellation_is_not_swallowed():
    release = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await release.wait()

    background = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    caller = asyncio.create_task(cancel_and_wait(background))
    await asyncio.sleep(0)
    caller.cancel()
    await asyncio.sleep(0)
    assert not caller.done(), "the task is still waited for"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert background.cancelled()


async def test_a_cleanup_running_inside_a_cancelled_task_carries_on():
    """As aiohttp's run_app stops on SIGTERM: it cancels its main task, whose `finally` runs
    every cleanup_ctx."""
    steps = []

    async def main() -> None:
        background = asyncio.create_task(asyncio.Event().wait())
        try:
            await asyncio.Event().wait()
        finally:
            await cancel_and_wait(background)
            steps.append("after the tasks")

    task = asyncio.create_task(main())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["after the tasks"]


async def test_a_task_that_died_of_an_error_still_raises_it():
    async def broken() -> None:
        raise KeyError("lost")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(KeyError):
        await cancel_and_wait(task)
