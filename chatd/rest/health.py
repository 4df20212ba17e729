"""Liveness and readiness for load balancers and systemd."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web

from chatd import keys
from chatd.encoding import json_response
from chatd.endpoints import Endpoint
from chatd.errors import ApiError
from chatd.schemas import Health


async def healthz(request: web.Request) -> web.Response:
    return json_response(Health(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers and cross-process delivery (LISTEN) is up."""
    app = request.app
    try:
        await asyncio.wait_for(app[keys.queries].ping(app[keys.pool]), 2)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        raise ApiError(503, "database is not answering") from None
    if not app[keys.listener].ready:
        raise ApiError(503, "notification listener is reconnecting")
    return json_response(Health(status="ready"))


ENDPOINTS = [
    Endpoint("GET", "/healthz", healthz, "200 while the process runs", "health", response=Health, auth=False),
    Endpoint("GET", "/readyz", readyz, "200 when the database and the listener are up, else 503",
             "health", response=Health, errors=(503,), auth=False),
]
