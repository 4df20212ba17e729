"""Parsing the parts of a request, each failure a 4xx that names the part."""

from __future__ import annotations

import functools
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import TypeVar
from uuid import UUID

from aiohttp import web

from chatd.config import IPNetwork
from chatd.web.encoding import convert, decode
from chatd.domain.errors import BadInput, NotFound

T = TypeVar("T")
IPAddress = IPv4Address | IPv6Address


def path_uuid(request: web.Request, name: str) -> UUID:
    """A malformed id cannot name anything: 404, as for an id that does not exist."""
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise NotFound(f"{name} is not a valid id") from None


def channel_locator(request: web.Request) -> tuple[UUID | None, UUID]:
    """The channel a channel sub-route names (chatd.web.endpoints.CHANNEL_PATHS): (server id,
    channel id), or (None, the conversation's id) under /chat/dms/{dm_id}."""
    if "dm_id" in request.match_info:
        return None, path_uuid(request, "dm_id")
    return path_uuid(request, "server_id"), path_uuid(request, "channel_id")


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


# A PostgreSQL bigint (an OFFSET, a seq): a larger value would fail to bind (a 500), and clamping
# to it changes nothing, since no channel holds that many messages or changes.
MAX_BIGINT = 2**63 - 1


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


def client_address(request: web.Request, trusted_proxies: tuple[IPNetwork, ...]) -> str:
    """The address of the client, for throttling: the peer, unless the peer is a trusted proxy.
    Then X-Forwarded-For is read from the right (each proxy appends the address it saw), past
    the trusted proxies, to the first address none of them is: anything left of it was written
    by the client and proves nothing. Each address is parsed once (a login flood from many
    addresses made parsing a tenth of the event loop's work), the peer's verdict remembered."""
    peer = request.remote or "unknown"
    if not trusted_proxies or not _trusted_peer(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for value in request.headers.getall("X-Forwarded-For", ())
            for hop in value.split(",")]
    client = peer
    for hop in reversed(hops):
        try:
            parsed = ip_address(hop)
        except ValueError:  # not an address: the chain can be followed no further
            break
        client = str(parsed)
        if not _trusted(parsed, trusted_proxies):
            break
    return client


@functools.lru_cache(maxsize=1024)
def _trusted_peer(address: str, trusted_proxies: tuple[IPNetwork, ...]) -> bool:
    try:
        return _trusted(ip_address(address), trusted_proxies)
    except ValueError:
        return False


def _trusted(address: IPAddress, trusted_proxies: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in trusted_proxies)
