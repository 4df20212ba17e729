"""Every web.AppKey in one place, so modules import keys, not each other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import aiosql.queries
import asyncpg
from aiohttp import web

from chatd.config import Config

if TYPE_CHECKING:  # the gateway modules import this one
    from chatd.domain.attachments import UrlSigner
    from chatd.domain.changes import ChangeCommit
    from chatd.domain.notes import NoteBus
    from chatd.domain.passwords import Hashing
    from chatd.domain.presence import NodePresence
    from chatd.domain.ratelimit import RateLimiter
    from chatd.domain.tokens import TokenUsers, VerifiedTokens
    from chatd.gateway.connects import ConnectLookup
    from chatd.gateway.hub import Hub
    from chatd.gateway.typing import TypingTracker
    from chatd.ops.metrics import Metrics
    from chatd.ops.pushes import Pushes
    from chatd.store.availability import Availability
    from chatd.store.groupcommit import GroupCommit
    from chatd.store.storage import Storage

config = web.AppKey("config", Config)
pool = web.AppKey("pool", asyncpg.Pool)
queries = web.AppKey("queries", aiosql.queries.Queries)
hub = web.AppKey["Hub"]("hub")
notes = web.AppKey["NoteBus"]("notes")
typing = web.AppKey["TypingTracker"]("typing")
message_limiter = web.AppKey["Optional[RateLimiter]"]("message_limiter")
change_limiter = web.AppKey["Optional[RateLimiter]"]("change_limiter")  # edits, deletions, reactions
invite_limiter = web.AppKey["Optional[RateLimiter]"]("invite_limiter")  # invite previews per client address
presence_limiter = web.AppKey["Optional[RateLimiter]"]("presence_limiter")  # status changes per user
change_commit = web.AppKey["ChangeCommit"]("change_commit")
metrics = web.AppKey["Metrics"]("metrics")
tokens = web.AppKey["VerifiedTokens"]("tokens")
token_users = web.AppKey["TokenUsers"]("token_users")
connect_lookup = web.AppKey["ConnectLookup"]("connect_lookup")
group_commit = web.AppKey["GroupCommit"]("group_commit")
availability = web.AppKey["Availability"]("availability")
hashing = web.AppKey["Hashing"]("hashing")
presence = web.AppKey["NodePresence"]("presence")
pushes = web.AppKey["Pushes"]("pushes")
storage = web.AppKey["Storage"]("storage")  # where attachment bytes live
attachment_urls = web.AppKey["UrlSigner"]("attachment_urls")
