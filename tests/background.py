"""Slow preparations that some tests need (moto's own environment, the zipapp build), started
on threads as soon as the session knows it will run those tests (conftest's
pytest_collection_finish), so they overlap the tests that come before them instead of adding
their minutes to the suite's length. Each runs once per session."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="prepare")
_started: dict[Callable, Future] = {}


def prepare(job: Callable[[], object]) -> None:
    """Start `job` now, unless it has started."""
    if job not in _started:
        _started[job] = _threads.submit(job)


def prepared(job: Callable[[], T]) -> T:
    """What `job` made, waiting for it (and starting it, if nothing did)."""
    prepare(job)
    return _started[job].result()
