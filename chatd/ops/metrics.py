"""Prometheus metrics in a registry of the app's own (two apps in one process, as in the tests,
never share counts), exposed at GET /metrics."""

from __future__ import annotations

import time
from collections.abc import Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from chatd import keys


class Metrics:
    """Every metric chatd exports. Gauges of state (sockets, pool) are read at scrape time,
    so the code that changes that state does no bookkeeping."""

    def __init__(self, app: Mapping) -> None:
        self.registry = registry = CollectorRegistry()
        Gauge("chatd_websocket_connections", "Open WebSocket connections in this process",
              registry=registry).set_function(lambda: hub.connection_count if (hub := app.get(keys.hub)) else 0)
        accepted = Counter("chatd_messages_accepted", "Messages stored, by the transport they came in on",
                           ["transport"], registry=registry)
        self.messages_rest = accepted.labels(transport="rest")
        self.messages_ws = accepted.labels(transport="ws")
        self.deliveries = Counter("chatd_message_deliveries", "new_message events queued to sockets",
                                  registry=registry)
        self.presence_deliveries = Counter("chatd_presence_deliveries", "presence_update events queued to sockets",
                                           registry=registry)
        self.slow_consumers = Counter("chatd_slow_consumers_dropped",
                                      "Sockets closed (4008) because their send queue filled", registry=registry)
        refused = Counter("chatd_database_unavailable_refusals",
                          "Requests refused because the database was unavailable (503, an error event, "
                          "a 1013 close), by transport", ["transport"], registry=registry)
        self.database_refusals = {transport: refused.labels(transport=transport) for transport in ("rest", "ws")}
        self.http_duration = Histogram("chatd_http_request_duration_seconds", "HTTP request duration",
                                       ["method", "route", "status"], registry=registry)
        Gauge("chatd_db_pool_size", "Connections in the database pool", registry=registry).set_function(
            lambda: pool.get_size() if (pool := app.get(keys.pool)) else 0)
        Gauge("chatd_db_pool_in_use", "Pool connections checked out", registry=registry).set_function(
            lambda: pool.get_size() - pool.get_idle_size() if (pool := app.get(keys.pool)) else 0)
        self.message_batches = Batches(registry, "message", "Messages per group commit (one INSERT, one commit)",
                                       "One group commit: its INSERT statement and the commit")
        self.change_batches = Batches(registry, "change",
                                      "Edits, deletions and reactions per batch (one transaction, one commit)",
                                      "One batch of changes: its locks, statements and commit")
        self.notification_lag = Histogram(
            "chatd_notification_lag_seconds", "From a message's created_at to its NOTIFY reaching this process",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry)
        self.pushes_sent = Counter("chatd_pushes_sent", "Web Pushes a push service accepted", registry=registry)
        failed = Counter("chatd_pushes_failed", "Web Push attempts that failed: gone (404/410), rejected "
                         "(another 4xx), server (5xx, 429), network", ["reason"], registry=registry)
        self.pushes_failed = {reason: failed.labels(reason=reason) for reason in ("gone", "rejected", "server", "network")}
        dropped = Counter("chatd_pushes_dropped", "Web Pushes given up unsent: expired (past their TTL), gone, "
                          "rejected, attempts (retried MAX_ATTEMPTS times)", ["reason"], registry=registry)
        self.pushes_dropped = {reason: dropped.labels(reason=reason)
                               for reason in ("expired", "gone", "rejected", "attempts")}


class Batches:
    """How big the batches of a group commit are and how long each took to commit."""

    def __init__(self, registry: CollectorRegistry, name: str, size_help: str, seconds_help: str):
        self._size = Histogram(f"chatd_{name}_batch_size", size_help,
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 500), registry=registry)
        self._seconds = Histogram(f"chatd_{name}_commit_seconds", seconds_help,
                                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
                                  registry=registry)

    def observe(self, size: int, seconds: float) -> None:
        self._size.observe(size)
        self._seconds.observe(seconds)


@web.middleware
async def metrics_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Outermost, so it times what the client waited for, errors included. WebSockets are left
    out: their "duration" is the life of the connection."""
    started = time.perf_counter()
    response = await handler(request)
    if not isinstance(response, web.WebSocketResponse):
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        request.app[keys.metrics].http_duration.labels(request.method, route, str(response.status)).observe(
            time.perf_counter() - started)
    return response


async def metrics_handler(request: web.Request) -> web.Response:
    body = generate_latest(request.app[keys.metrics].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
