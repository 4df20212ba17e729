"""create_app(config): the whole service as one aiohttp Application."""

from __future__ import annotations

import functools

import aiohttp_jinja2
import jinja2
from aiohttp import web

from chatd import keys
from chatd.domain.changes import change_commit_ctx
from chatd.domain.passwords import hashing_ctx
from chatd.domain.presence import PRESENCE_LIMIT, presence_ctx
from chatd.domain.search import search_ctx
from chatd.domain.tokens import VerifiedTokens, token_users_ctx
from chatd.web.auth import requires_user
from chatd.config import Config
from chatd.web.cors import cors_middleware
from chatd.store.availability import availability_ctx
from chatd.store.pool import database_ctx
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.errors import error_middleware
from chatd.web.openapi import openapi_document
from chatd.web.page import debug_page
from chatd.gateway.lifecycle import close_sockets, gateway_ctx
from chatd.gateway.ws import websocket_handler
from chatd.ops.gcfreeze import gc_freeze_ctx
from chatd.store.groupcommit import group_commit_ctx
from chatd.store.notify import notes_ctx
from chatd.ops.metrics import Metrics, metrics_middleware
from chatd.ops.nodes import node_ctx
from chatd.ops.pushes import push_ctx
from chatd.ops.sweeps import sweep_ctx
from chatd.domain.ratelimit import RateLimiter
from chatd.store.resources import resource_dir
from chatd.ops.sdnotify import notify_stopping, watchdog_ctx
from chatd.domain.attachments import UrlSigner
from chatd.store.storage import storage_ctx
from chatd.rest import (
    attachments, auth, bans, blocks, changes, channels, dms, health, invites, members, message_edits, messages,
    notifications, presence, push, reactions, reads, search, servers, threads,
)
from chatd.rest import layout

ENDPOINTS: list[Endpoint] = [
    *auth.ENDPOINTS, *servers.ENDPOINTS, *channels.ENDPOINTS, *messages.ENDPOINTS, *message_edits.ENDPOINTS,
    *reactions.ENDPOINTS, *changes.ENDPOINTS, *members.ENDPOINTS, *invites.ENDPOINTS, *bans.ENDPOINTS,
    *dms.ENDPOINTS, *blocks.ENDPOINTS, *reads.ENDPOINTS, *search.ENDPOINTS, *presence.ENDPOINTS, *health.ENDPOINTS,
    *layout.ENDPOINTS, *threads.ENDPOINTS,
    *notifications.ENDPOINTS, *push.ENDPOINTS, *attachments.ENDPOINTS,
]


@functools.cache
def api_document() -> dict:
    """What /openapi.json answers: built once per process, when first asked for (a tenth of a
    second of schema work, which every app made in a process, each test's, would pay again)."""
    return openapi_document(ENDPOINTS)


async def openapi(request: web.Request) -> web.Response:
    return json_response(api_document())


def create_app(config: Config) -> web.Application:
    """config.database_url must name a migrated database (the CLI starts and migrates it)."""
    app = web.Application(
        middlewares=[metrics_middleware, cors_middleware, error_middleware], client_max_size=config.max_body_bytes
    )
    app[keys.config] = config
    app[keys.metrics] = Metrics(app)
    app[keys.tokens] = VerifiedTokens(config)
    app[keys.attachment_urls] = UrlSigner(config.secret_key or "")
    app[keys.message_limiter] = RateLimiter(config.rate_limit) if config.rate_limit else None
    app[keys.change_limiter] = RateLimiter(config.rate_limit) if config.rate_limit else None
    app[keys.invite_limiter] = RateLimiter(config.invite_preview_limit) if config.invite_preview_limit else None
    # Status changes are limited whenever messages are: each one reaches every co-member.
    app[keys.presence_limiter] = RateLimiter(PRESENCE_LIMIT) if config.rate_limit else None
    app.cleanup_ctx.extend([
        watchdog_ctx, hashing_ctx, database_ctx, storage_ctx, search_ctx, availability_ctx, token_users_ctx, notes_ctx, push_ctx, group_commit_ctx, change_commit_ctx,
        presence_ctx, gateway_ctx, gc_freeze_ctx, node_ctx, sweep_ctx,
    ])
    app.on_shutdown.extend([notify_stopping, close_sockets])
    app.router.add_get("/chat/ws", websocket_handler)
    for endpoint in ENDPOINTS:
        handler = requires_user(endpoint.handler, early=endpoint.early) if endpoint.auth else endpoint.handler
        app.router.add_route(endpoint.method, endpoint.route, handler)
    app.router.add_get("/openapi.json", openapi)
    aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("chatd", "templates"), autoescape=True)
    app.router.add_get("/", debug_page)
    app.router.add_get("/debug", debug_page)
    app.router.add_static("/static/", resource_dir("static"))
    return app
