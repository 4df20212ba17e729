"""Sending Web Pushes: the outbox (push_outbox) and the bounded worker every process runs.

A message's pushes are written to the outbox by the process that stored it, in one statement
after the message committed, off the send's path (a send never waits on them nor on a push
service). Every process's worker claims due rows with a lease (claim_pushes: FOR UPDATE SKIP
LOCKED), so each push is sent by one worker however many run; a worker that stops mid-send
leaves its rows to the next once the lease is over. Woken at once by this process's own
messages, and every POLL_SECONDS for everyone else's and for retries.

Outcomes: 2xx deletes the row; 404/410 delete the subscription (and its rows); other 4xx drop
the push; 5xx, 429 and network errors retry with backoff, up to MAX_ATTEMPTS; a push past its
TTL is dropped unsent. Each failure is one log line naming its class and the push service's
origin only: an endpoint's path is a bearer-like secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp
import asyncpg
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from chatd import keys
from chatd.domain.notifications import recipients
from chatd.domain.push import PREVIEW_CHARS, b64url
from chatd.ops.tasks import cancel_and_wait
from chatd.store.batching import Batcher
from chatd.store.pool import DB_ERRORS

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
CLAIM_BATCH = 16  # pushes sent at once by one worker: its bound
LEASE_SECONDS = 60  # a claim's hold; well past SEND_TIMEOUT, so a live worker's claim never lapses
SEND_TIMEOUT = aiohttp.ClientTimeout(total=10)
MAX_ATTEMPTS = 10  # with the backoff below, about 17 minutes of trying
MAX_BACKOFF_SECONDS = 300
TTL_SECONDS = 24 * 3600  # a notification a day old is news to nobody


def backoff_seconds(attempts: int) -> int:
    """1 s after the first failure, doubling, at most MAX_BACKOFF_SECONDS."""
    return min(2 ** (attempts - 1), MAX_BACKOFF_SECONDS)


def vapid_from_raw(private_key: bytes) -> Vapid:
    return Vapid(ec.derive_private_key(int.from_bytes(private_key, "big"), ec.SECP256R1()))


class Pushes:
    def __init__(self, app: Mapping, vapid: Vapid, http: aiohttp.ClientSession):
        self._app, self._vapid, self._http = app, vapid, http
        self.public_key = b64url(vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
        self._wake = asyncio.Event()
        self._queueing: set[asyncio.Task] = set()
        self._batcher: Batcher[asyncpg.Record, None] = Batcher(self._queue_batch)

    def queue(self, message: asyncpg.Record) -> None:
        """A message has committed: its pushes go to the outbox without the sender waiting,
        with those of the messages committed meanwhile."""
        task = asyncio.create_task(self._batcher.submit(message))
        self._queueing.add(task)
        task.add_done_callback(self._queueing.discard)

    async def _queue_batch(self, messages: list[asyncpg.Record]) -> list[None]:
        """The pushes of messages committed together: two statements for them all (a query and
        an insert per message cost the sends they follow a fifth of their rate)."""
        app = self._app
        stored = {message["id"]: message for message in messages}
        try:
            notified = await recipients(app, list(stored))
            pushes = [(message, user_id, kind) for message_id, message in stored.items()
                      for user_id, kind in notified[message_id]]
            if pushes and await app[keys.queries].queue_pushes(
                    app[keys.pool], user_ids=[user_id for _, user_id, _ in pushes], kinds=[kind for *_, kind in pushes],
                    message_ids=[m["id"] for m, *_ in pushes], channel_ids=[m["channel_id"] for m, *_ in pushes],
                    server_ids=[m["server_id"] for m, *_ in pushes], from_ids=[m["user_id"] for m, *_ in pushes],
                    from_names=[m["username"] for m, *_ in pushes],
                    previews=[m["text"][:PREVIEW_CHARS] for m, *_ in pushes], ttl_seconds=TTL_SECONDS):
                self._wake.set()
        except DB_ERRORS as error:
            if not app[keys.availability].noticed(error):
                log.warning("event=push_queue_failed messages=%d error=%s", len(stored), type(error).__name__)
        return [None] * len(messages)

    async def drain(self) -> None:
        """Until the outbox holds the pushes of every message stored so far."""
        while self._queueing:
            await asyncio.gather(*self._queueing, return_exceptions=True)

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await self._wake.wait()
            self._wake.clear()
            try:
                while await self._send_due():
                    pass
            except DB_ERRORS as error:
                if not self._app[keys.availability].noticed(error):
                    log.warning("event=push_claim_failed error=%s", type(error).__name__)

    async def _send_due(self) -> bool:
        """Claims and sends one batch; whether it was full (more may be due)."""
        rows = [row async for row in self._app[keys.queries].claim_pushes(
            self._app[keys.pool], lim=CLAIM_BATCH, lease_seconds=LEASE_SECONDS)]
        await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows) == CLAIM_BATCH

    async def _deliver(self, push: asyncpg.Record) -> None:
        metrics, queries, pool = self._app[keys.metrics], self._app[keys.queries], self._app[keys.pool]
        try:
            if push["expired"]:
                metrics.pushes_dropped["expired"].inc()
                await queries.delete_push(pool, push_id=push["id"])
                return
            failure = await self._send(push)
            if failure is None:
                metrics.pushes_sent.inc()
                await queries.delete_push(pool, push_id=push["id"])
                return
            reason, status = failure
            metrics.pushes_failed[reason].inc()
            log.warning("event=push_failed reason=%s status=%s push_id=%s attempt=%s service=%s", reason, status,
                        push["id"], push["attempts"], _origin(push["endpoint"]))
            if reason == "gone":
                metrics.pushes_dropped["gone"].inc()
                await queries.drop_push_subscription(pool, subscription_id=push["subscription_id"])
            elif reason == "rejected" or push["attempts"] >= MAX_ATTEMPTS:
                metrics.pushes_dropped[reason if reason == "rejected" else "attempts"].inc()
                await queries.delete_push(pool, push_id=push["id"])
            else:
                await queries.retry_push(pool, push_id=push["id"], delay_seconds=backoff_seconds(push["attempts"]))
        except DB_ERRORS as error:  # the claim's lease runs out and the push is tried again
            if not self._app[keys.availability].noticed(error):
                log.warning("event=push_outcome_not_saved push_id=%s error=%s", push["id"], type(error).__name__)

    async def _send(self, push: asyncpg.Record) -> tuple[str, int | None] | None:
        """None once the push service took it, else the failure's class and HTTP status."""
        subscription = {"endpoint": push["endpoint"], "keys": {"p256dh": push["p256dh"], "auth": push["auth"]}}
        try:
            await webpush_async(
                subscription, push["payload"], vapid_private_key=self._vapid,
                vapid_claims={"sub": self._app[keys.config].vapid_subject}, ttl=push["ttl"],
                headers={"Urgency": "high"}, aiohttp_session=self._http, timeout=SEND_TIMEOUT)
        except WebPushException as error:
            status = error.status_code
            if status in (404, 410):
                return "gone", status
            if status is not None and (status >= 500 or status == 429):
                return "server", status
            return "rejected", status
        except (aiohttp.ClientError, TimeoutError):
            return "network", None
        return None


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


async def _vapid_key(app: web.Application) -> bytes:
    """CHATD_VAPID_PRIVATE_KEY, or else the one in the database: the first process to start
    writes the key it generated, and every process, itself included, reads the one kept."""
    configured = app[keys.config].vapid_private_key
    if configured is not None:
        return configured
    queries, pool = app[keys.queries], app[keys.pool]
    generated = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
    await queries.save_vapid_key(pool, private_key=generated)
    return await queries.get_vapid_key(pool)


async def push_ctx(app: web.Application):
    """cleanup_ctx (after the pool, before group commit: stopped after the last message is
    stored, so its pushes reach the outbox)."""
    vapid = vapid_from_raw(await _vapid_key(app))
    async with aiohttp.ClientSession(timeout=SEND_TIMEOUT) as http:
        pushes = app[keys.pushes] = Pushes(app, vapid, http)
        task = asyncio.create_task(pushes.run())
        yield
        await cancel_and_wait(task)
        await pushes.drain()
