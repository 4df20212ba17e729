"""Whether this process can reach its database: an outage is an expected condition, logged
once when it is first seen and once when it is over, never a traceback per request.

The edges (chatd.web.errors, chatd.gateway.session) hand what failed to `refusal`: when it
means the database is unavailable, they answer with the Unavailable refusal it returns (503,
or an `error` event with retryAfter) instead of an internal error. Once down, a probe asks the
database's clock every PROBE_SECONDS until it answers. asyncpg's pool reports its own failed
reconnects (restoring its minimum size) on the "asyncpg.pool" logger, each with a traceback:
while the app runs, those records feed this state instead of the log. That filter is set here,
not in chatd.ops.logs, because the state it feeds is the app's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from aiohttp import web

from chatd import keys
from chatd.domain.errors import Unavailable
from chatd.ops.tasks import cancel_and_wait
from chatd.store.pool import unavailable

log = logging.getLogger(__name__)

PROBE_SECONDS = 1.0
PROBE_TIMEOUT = 5.0
RETRY_AFTER_SECONDS = 1  # what clients are told to wait: about one probe
POOL_LOGGER = "asyncpg.pool"


class Availability:
    def __init__(self, app: Mapping):
        self._app = app
        self._loop = asyncio.get_running_loop()
        self._down_since = 0.0
        self.probe: asyncio.Task | None = None  # running exactly while the database is down

    def noticed(self, error: BaseException) -> bool:
        """Whether `error` means the database is unavailable. The first such error of an
        outage is logged (one line, no traceback) and starts the probe."""
        if not unavailable(error):
            return False
        if self.probe is None:
            self._down_since = time.monotonic()
            # The root cause's type: ConnectionRefusedError rather than the pool's ConnectFailed.
            log.warning("event=database_unavailable error=%s", type(error.__cause__ or error).__name__)
            self.probe = self._loop.create_task(self._until_back())
        return True

    def refusal(self, error: BaseException, transport: str) -> Unavailable | None:
        """What a request that failed with `error` is answered, counted by `transport`, when
        the database is unavailable; None when the failure is something else (a bug)."""
        if not self.noticed(error):
            return None
        self._app[keys.metrics].database_refusals[transport].inc()
        return Unavailable(RETRY_AFTER_SECONDS)

    def pool_record(self, record: logging.LogRecord) -> bool:
        """A logging filter for asyncpg's pool: its records of an unavailable database are
        noticed and dropped; any other passes."""
        error = record.exc_info[1] if record.exc_info else None
        return error is None or not self.noticed(error)

    async def _until_back(self) -> None:
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            if await self._answers():
                break
        log.info("event=database_available down_seconds=%.1f", time.monotonic() - self._down_since)
        self.probe = None

    async def _answers(self) -> bool:
        app = self._app
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):  # not wait_for: see chatd.store.notify
                await app[keys.queries].database_now(app[keys.pool])
        except TimeoutError:
            return False
        except Exception as error:
            return not unavailable(error)  # an answer, if only a refusal of the probe: not an outage
        return True


async def availability_ctx(app: web.Application):
    """cleanup_ctx (after the pool): noticing outages, for as long as the app runs."""
    availability = app[keys.availability] = Availability(app)
    pool_log = logging.getLogger(POOL_LOGGER)
    pool_log.addFilter(availability.pool_record)
    yield
    pool_log.removeFilter(availability.pool_record)
    await cancel_and_wait(availability.probe)
