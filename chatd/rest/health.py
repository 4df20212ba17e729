"""Liveness and readiness for load balancers and systemd."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web

from chatd import keys
from chatd.store.pool import DB_ERRORS
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.errors import ApiError
from chatd.ops.metrics import metrics_handler
from chatd.store.migrations import migration_ids
from chatd.domain.schemas import Health


async def healthz(request: web.Request) -> web.Response:
    return json_response(Health(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers, its schema is this chatd's, and cross-process
    delivery (LISTEN) is up."""
    app = request.app
    try:
        rows = app[keys.queries].list_applied_migration_ids(app[keys.pool])
        applied = await asyncio.wait_for(_collect_ids(rows), 2)
    except asyncpg.UndefinedTableError:  # an empty database: yoyo has not even made its table
        applied = set()
    except DB_ERRORS:
        raise ApiError(503, "database is not answering") from None
    pending = [m for m in migration_ids() if m not in applied]
    if pending:
        raise ApiError(503, f"migrations pending: {', '.join(pending)}")
    if not app[keys.notes].ready:
        raise ApiError(503, "notification listener is reconnecting")
    return json_response(Health(status="ready"))


async def _collect_ids(rows) -> set[str]:
    return {row["migration_id"] async for row in rows}


ENDPOINTS = [
    Endpoint("GET", "/healthz", healthz, "200 while the process runs", "health", response=Health, auth=False),
    Endpoint("GET", "/readyz", readyz,
             "200 when the database answers, migrations are current and the listener is up, else 503",
             "health", response=Health, errors=(503,), auth=False),
    Endpoint("GET", "/metrics", metrics_handler, "Prometheus metrics, in the text exposition format",
             "health", auth=False),
]
