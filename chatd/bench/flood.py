"""A login flood: wrong-password logins at a fixed rate against /auth/login, each from its own
client address (X-Forwarded-For; the bench's chatd trusts 127.0.0.1 as its proxy) for its own
username, so that none is throttled and every one asks for argon2 work: what guessing spread
over a botnet costs chatd."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from ipaddress import IPv4Address

import aiohttp

# Addresses from 10.0.0.0/8, one per login; usernames `flood<n>`, which name no account.
_FIRST_ADDRESS = int(IPv4Address("10.0.0.1"))


class LoginFlood:
    """`async with LoginFlood(url, rate, numbers) as flood:` logins go out at `rate`/s,
    open-loop (each on its own schedule, whatever the answers take), until the block ends; then
    `flood.figures()` counts them by status. `numbers` hands out the login numbers, so that
    successive floods never reuse an address or a name."""

    def __init__(self, url: str, rate: float, counter: itertools.count):
        self.url, self.rate, self._numbers = url + "/auth/login", rate, counter
        self.statuses: Counter[str] = Counter()
        self._inflight: set[asyncio.Task] = set()
        self._session: aiohttp.ClientSession | None = None
        self._pacer: asyncio.Task | None = None
        self._seconds = 0.0

    async def __aenter__(self) -> LoginFlood:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                              timeout=aiohttp.ClientTimeout(total=30))
        self._pacer = asyncio.create_task(self._pace())
        return self

    async def __aexit__(self, *exc) -> None:
        self._pacer.cancel()
        await asyncio.gather(self._pacer, return_exceptions=True)
        await asyncio.gather(*self._inflight, return_exceptions=True)
        await self._session.close()

    async def _pace(self) -> None:
        started = time.monotonic()
        for sent in itertools.count():
            self._seconds = time.monotonic() - started
            delay = started + sent / self.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._login(next(self._numbers)))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _login(self, n: int) -> None:
        body = {"username": f"flood{n}", "password": "not the password"}
        headers = {"X-Forwarded-For": str(IPv4Address(_FIRST_ADDRESS + n))}
        try:
            async with self._session.post(self.url, json=body, headers=headers) as resp:
                await resp.read()
                self.statuses[str(resp.status)] += 1
        except (aiohttp.ClientError, asyncio.TimeoutError):
            self.statuses["failed"] += 1

    def figures(self) -> dict:
        """Logins answered per second, and how (401: the password
        was checked; 503: refused before any argon2 work, the hashing queue being full)."""
        answered = sum(self.statuses.values())
        return {"logins_per_s": round(answered / self._seconds, 1) if self._seconds else 0.0,
                "statuses": dict(self.statuses)}
