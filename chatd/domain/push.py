"""Web Push subscriptions (the outbox and its worker are chatd.ops.pushes; whom a message
notifies, chatd.domain.notifications).

A subscription is what a browser's PushManager.subscribe() returns: an endpoint at its push
service (a bearer-like secret: whoever knows it can push to that browser) and the keys its
payloads are encrypted to (RFC 8291).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from msgspec import Meta

from chatd import keys
from chatd.domain.errors import BadInput, NotFound
from chatd.domain.schemas import NO_NUL, Body, User

PREVIEW_CHARS = 100
MAX_ENDPOINT = 2048  # browsers' endpoints are a few hundred characters
Base64url = Annotated[str, Meta(max_length=200, pattern=r"^[A-Za-z0-9_\-]+=*$", description="base64url")]
Endpoint = Annotated[str, Meta(max_length=MAX_ENDPOINT, pattern=NO_NUL, description="the push service URL (https://)")]


class SubscriptionKeys(Body):
    p256dh: Annotated[Base64url, Meta(description="the browser's P-256 public key: 65 bytes, uncompressed")]
    auth: Annotated[Base64url, Meta(description="the 16-byte auth secret")]


class NewSubscription(Body):
    """PushSubscription.toJSON(), as a browser makes it."""

    endpoint: Endpoint
    keys: SubscriptionKeys
    expirationTime: float | None = msgspec.field(default=None)  # noqa: N815 -- the browser's name; not kept


class GoneSubscription(Body):
    endpoint: Endpoint


class VapidPublicKey(msgspec.Struct):
    public_key: Annotated[str, Meta(description="base64url of the uncompressed P-256 point: a "
                                                "PushManager.subscribe() applicationServerKey")]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(value: str, field: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise BadInput(f"keys.{field} is not base64url") from None


def _checked_endpoint(endpoint: str, allow_http: bool) -> str:
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 -- raises on a port that is not one
    except ValueError:
        raise BadInput("endpoint is not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise BadInput("endpoint must be an absolute https:// URL")
    if parts.scheme == "http" and not allow_http:
        raise BadInput("endpoint must be an https:// URL")
    if any(c.isspace() or ord(c) < 0x20 for c in endpoint):
        raise BadInput("endpoint is not a URL")
    return endpoint


def checked(subscription: NewSubscription, allow_http: bool) -> tuple[str, str, str]:
    """The endpoint and keys, canonical base64url, once they could encrypt a push: refused here
    rather than failing at every send."""
    endpoint = _checked_endpoint(subscription.endpoint, allow_http)
    p256dh = _b64url_decode(subscription.keys.p256dh, "p256dh")
    if len(p256dh) != 65 or p256dh[0] != 4:
        raise BadInput("keys.p256dh is not an uncompressed P-256 point (65 bytes)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        raise BadInput("keys.p256dh is not a point on P-256") from None
    auth = _b64url_decode(subscription.keys.auth, "auth")
    if len(auth) != 16:
        raise BadInput("keys.auth is not 16 bytes")
    return endpoint, b64url(p256dh), b64url(auth)


async def subscribe(app: Mapping, user: User, subscription: NewSubscription) -> None:
    """Idempotent per endpoint; an endpoint registered by another user moves to this one."""
    endpoint, p256dh, auth = checked(subscription, app[keys.config].push_allow_http)
    await app[keys.queries].save_push_subscription(
        app[keys.pool], user_id=user.user_id, endpoint=endpoint, p256dh=p256dh, auth=auth)


async def unsubscribe(app: Mapping, user: User, endpoint: str) -> None:
    if await app[keys.queries].delete_push_subscription(app[keys.pool], user_id=user.user_id,
                                                        endpoint=endpoint) is None:
        raise NotFound("push subscription not found")

