"""CORS for browser front ends on other origins (CHATD_CORS_ORIGINS)."""

from __future__ import annotations

from aiohttp import web

from chatd import keys

_ALLOW_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
_ALLOW_HEADERS = "Authorization, Content-Type, X-Request-Id"


@web.middleware
async def cors_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Echo an allowed Origin exactly (credentials forbid `*`) and answer preflights here."""
    origin = request.headers.get("Origin")
    allowed = origin is not None and origin in request.app[keys.config].cors_origins
    if request.method == "OPTIONS" and allowed and "Access-Control-Request-Method" in request.headers:
        response: web.StreamResponse = web.Response(status=204)
        response.headers.update({
            "Access-Control-Allow-Methods": _ALLOW_METHODS,
            "Access-Control-Allow-Headers": _ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
        })
    else:
        response = await handler(request)
    if allowed and not response.prepared:
        response.headers.update({
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": "X-Request-Id, Retry-After, Chatd-Event-Seq",
            "Vary": "Origin",
        })
    return response
