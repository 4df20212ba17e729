"""argon2id password hashes, computed on threads of their own and bounded.

Each hash is ~0.1-0.2 s of a core's time, so a login flood is a CPU flood. The work runs on a
dedicated pool of one thread per core, never the event loop's default executor (which the
loop and the database driver also use), and at most `waiting` more wait for a thread: past
that the request is refused at once with 503 and Retry-After instead of queueing for ever.
The threads run at the lowest priority and, while hashes queue, rest between them, so that a
flood slows logins, not the messages chatd delivers meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chatd import keys
from chatd.domain.errors import Overloaded

T = TypeVar("T")

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verified against when the username is unknown, so both failures cost the same time.
_UNKNOWN_USER_HASH = _hasher.hash("chatd: no such user")
BUSY_RETRY_SECONDS = 1.0
REST_RATIO = 7.0  # a hashing thread rests this many times as long as its last hash took


def hash_password(password: str) -> str:
    """A hash computed right here: for commands and tests, outside a serving app."""
    return _hasher.hash(password)


def _lower_priority() -> None:
    """Hashing threads run under SCHED_IDLE: only when nothing else in chatd or on the machine
    (the database included) wants the CPU, so a flood of hashes slows the hashes, not the
    messages being delivered. Linux schedules each thread on its own, and the threads argon2
    starts for its lanes inherit the policy. (In the bench's login-flood phase, at full scale on
    2 cores, the half-rate fan-out's p99 rose 2-5x under the flood with SCHED_IDLE alone,
    4.5-5x with nice 19, and 1.2x with the hashing itself left out.)"""
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed: hashes run at normal priority
        pass


class Hashing:
    """`threads` hashes at once, `waiting` more queued; beyond that, Overloaded."""

    def __init__(self, threads: int, waiting: int):
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="argon2", initializer=_lower_priority)
        self._threads = threads
        self._capacity = threads + waiting
        self._taken = 0  # running or queued; a slot is freed when its thread finishes, not when the caller gives up

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; without a hash (no such user), False after the same work."""
        return await self._run(_verify, password_hash, password)

    def require_room(self) -> None:
        """Refuse now, before any other work for the request (its queries), when a hash asked
        for next would be refused: under a flood most requests then cost next to nothing."""
        if self._taken >= self._capacity:
            raise Overloaded("too many logins at once, retry shortly", retry_after=BUSY_RETRY_SECONDS)

    async def _run(self, work: Callable[..., T], *args) -> T:
        self.require_room()
        self._taken += 1
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        answer.add_done_callback(_retrieved)
        thread_free = asyncio.wrap_future(
            self._executor.submit(_work_then_rest, loop, answer, self._others_wait, work, *args))
        thread_free.add_done_callback(self._release)
        return await asyncio.shield(answer)

    def _others_wait(self) -> bool:
        """Whether hashes wait for a thread (read from a hashing thread: an int, set by the loop)."""
        return self._taken > self._threads

    def _release(self, thread_free: asyncio.Future) -> None:
        self._taken -= 1
        _retrieved(thread_free)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _work_then_rest(loop: asyncio.AbstractEventLoop, answer: asyncio.Future, others_wait: Callable[[], bool],
                    work: Callable, *args) -> None:
    """In a hashing thread: the answer goes back as soon as it is known; then, if other hashes
    were waiting when it was (a flood, not a few logins in a row), the thread rests REST_RATIO
    times as long as the work took before it takes the next. Under a flood, hashing thus holds
    at most an eighth of its threads' time, and the CPU, caches and memory bandwidth it leaves
    are the messages' (SCHED_IDLE yields the CPU but not the caches argon2's 64 MiB sweep
    through). Measured with `bench --only flood` on 2 cores, the half-rate fan-out's p99 under
    the flood against without it: resting once the hash's time, 3.71x, 4.42x, 4.10x; three
    times, from 1.47x to 3.91x over nine runs; seven times, in runs alternating with three
    times, 1.51x and 1.85x against 2.13x and 3.62x. The price: while a flood lasts, half as
    many logins are answered (beyond the queue every one is refused at once, 503, either way).
    """
    started = time.perf_counter()
    try:
        result, error = work(*args), None
    except Exception as caught:
        result, error = None, caught
    flood = others_wait()  # before the answer goes back: its caller's next hash is not a flood
    loop.call_soon_threadsafe(_settle, answer, result, error)
    if flood:
        time.sleep(REST_RATIO * (time.perf_counter() - started))


def _settle(answer: asyncio.Future, result, error: Exception | None) -> None:
    if answer.done():  # the app is going away
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(result)


def _retrieved(future: asyncio.Future) -> None:
    """An outcome nobody awaits any more (the caller gave up) is not an error to report."""
    if not future.cancelled():
        future.exception()


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _UNKNOWN_USER_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def hashing_ctx(app):
    """cleanup_ctx: the hashing threads live as long as the app."""
    config = app[keys.config]
    app[keys.hashing] = Hashing(config.hashes_at_once, config.hashes_waiting)
    yield
    app[keys.hashing].close()
