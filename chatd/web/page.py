"""The debug page at / and /debug: one template, static assets, and a strict Content-Security-Policy."""

from __future__ import annotations

import re

import aiohttp_jinja2
from aiohttp import web

import chatd

# A Host header is client-supplied: only a plain host[:port] may be echoed into the policy.
_PLAIN_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def content_security_policy(host: str | None) -> str:
    """Scripts, styles and images only from this origin, never inline; the WebSocket to this
    host. Browsers before CSP 3 do not count ws: as 'self', so the host is named as well."""
    sockets = f" ws://{host} wss://{host}" if host and _PLAIN_HOST.match(host) else ""
    return "; ".join([
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
        f"connect-src 'self'{sockets}", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ])


async def debug_page(request: web.Request) -> web.Response:
    response = aiohttp_jinja2.render_template("debug.html", request, {"version": chatd.__version__})
    response.headers["Content-Security-Policy"] = content_security_policy(request.host)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
