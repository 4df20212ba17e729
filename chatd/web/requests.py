"""Parsing the parts of a request, each failure a 4xx that names the part."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from aiohttp import web

from chatd.web.encoding import convert, decode
from chatd.domain.errors import BadInput, NotFound

T = TypeVar("T")


def path_uuid(request: web.Request, name: str) -> UUID:
    """A malformed id cannot name anything: 404, as for an id that does not exist."""
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise NotFound(f"{name} is not a valid id") from None


async def json_body(request: web.Request, type_: type[T]) -> T:
    """The body is read as JSON whatever its Content-Type: a bare fetch() sends text/plain."""
    try:
        return decode(await request.read(), type_)
    except ValueError as error:
        raise BadInput(str(error)) from None


async def json_or_form_body(request: web.Request, type_: type[T]) -> T:
    """OAuth2 password-flow clients post a form; everyone else JSON."""
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return await json_body(request, type_)
    try:
        form = await request.post()
    except ValueError:  # e.g. multipart/form-data without its boundary
        raise BadInput("the form body is malformed") from None
    fields = {k: v for k, v in form.items() if k in type_.__struct_fields__ and isinstance(v, str)}
    try:
        return convert(fields, type_)
    except ValueError as error:
        raise BadInput(str(error)) from None


def query_int(request: web.Request, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """An integer query parameter; above `maximum` is clamped, below `minimum` is an error."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"{name} must be a whole number, not {raw[:20]!r}") from None
    if value < minimum:
        raise BadInput(f"{name} must be at least {minimum}")
    return value if maximum is None else min(value, maximum)


def query_uuid(request: web.Request, name: str) -> UUID | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise BadInput(f"{name} is not a valid id") from None
