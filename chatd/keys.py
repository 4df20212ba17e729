"""Every web.AppKey in one place, so modules import keys, not each other."""

from __future__ import annotations

import aiosql.queries
import asyncpg
from aiohttp import web

from chatd.config import Config

config = web.AppKey("config", Config)
pool = web.AppKey("pool", asyncpg.Pool)
queries = web.AppKey("queries", aiosql.queries.Queries)
