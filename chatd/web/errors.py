"""One JSON shape for every error, {"detail": ...}, rendered by one middleware.

The domain's refusals (chatd.domain.errors) get their status here; ApiError is for what only
HTTP can say (a missing Authorization header, a refused Origin, readiness). A failure that
means the database is unavailable is a 503 with Retry-After, not a 500.
"""

from __future__ import annotations

import logging
import math
import uuid

from aiohttp import web

from chatd import keys
from chatd.domain import errors
from chatd.web.encoding import json_response

log = logging.getLogger(__name__)

REQUEST_ID = web.RequestKey("request_id", str)


# Most specific first: the first class a refusal is an instance of gives its status.
STATUS: list[tuple[type[errors.Refused], int]] = [
    (errors.BadInput, 400), (errors.Unauthorized, 401), (errors.Forbidden, 403), (errors.NotFound, 404),
    (errors.Conflict, 409), (errors.Gone, 410), (errors.TooLarge, 413), (errors.RateLimited, 429), (errors.Unavailable, 503), (errors.Overloaded, 503),
    (errors.StorageUnavailable, 503),
]
# A password login that failed challenges for a bearer token, as RFC 6750 describes.
CHALLENGES: dict[type[errors.Refused], dict[str, str]] = {errors.WrongCredentials: {"WWW-Authenticate": "Bearer"}}


class ApiError(Exception):
    """An HTTP-only refusal; answered as `status` with {"detail": detail}."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def refusal_response(refusal: errors.Refused) -> web.Response:
    status = next(code for kind, code in STATUS if isinstance(refusal, kind))
    response = json_response({"detail": refusal.detail, **refusal.extra}, status=status)
    response.headers.update(CHALLENGES.get(type(refusal), {}))
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(refusal.retry_after)))
    return response


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Every failure leaves as JSON; nothing unexpected leaks a traceback to the client."""
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except errors.Refused as refusal:
        response = refusal_response(refusal)
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
    except Exception as error:
        unavailable = request.app[keys.availability].refusal(error, "rest")
        if unavailable is not None:  # an outage, logged once by the app's availability
            response = refusal_response(unavailable)
        else:
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
