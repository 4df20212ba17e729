"""One error type, one JSON shape: {"detail": ...}, rendered by one middleware."""

from __future__ import annotations

import logging
import math
import uuid

from aiohttp import web

from chatd.web.encoding import json_response

log = logging.getLogger(__name__)

REQUEST_ID = web.RequestKey("request_id", str)


class ApiError(Exception):
    """Raised anywhere in a request; answered as `status` with {"detail": detail}."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None,
                 retry_after: float | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Every failure leaves as JSON; nothing unexpected leaks a traceback to the client."""
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except ApiError as error:
        response = json_response({"detail": error.detail}, status=error.status)
        if error.headers:
            response.headers.update(error.headers)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        response = json_response({"detail": _http_detail(error)}, status=error.status)
        for name in ("Allow", "Retry-After"):
            if name in error.headers:
                response.headers[name] = error.headers[name]
    except Exception:
        log.exception("event=unhandled_error request_id=%s route=%s", request_id, _route(request))
        response = json_response(
            {"detail": "internal error", "request_id": request_id}, status=500
        )
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    return response


def _http_detail(error: web.HTTPException) -> str:
    if error.status == 404:
        return "not found"
    if error.status == 405:
        return "method not allowed"
    if error.status == 413:
        return "request body is too large"
    return error.reason.lower()


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "-"
