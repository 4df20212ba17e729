"""Web Push end to end: a push-service receiver on loopback checks each push's VAPID signature
against the key chatd serves and decrypts its payload with the subscription's private key; the
outbox's outcomes (410, retries, TTL), who is pushed (no open socket), the subscription routes'
bad input, and, with two chatd processes, one send per push and one generated key."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from dataclasses import dataclass, field, replace

import aiohttp
import aiosql
import http_ece
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chatd.app import create_app
from chatd.config import Config, ConfigError
from chatd.ops import pushes as pushes_module
from tests.conftest import TEST_SQL
from test_gateway import connect
from test_health_metrics import scrape
from test_presence import shown

push_queries = aiosql.from_path(TEST_SQL / "push.sql", "asyncpg")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """A browser's push subscription: the keys PushManager.subscribe() would make."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict:
        point = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64(point), "auth": b64(self.auth)}}


@dataclass
class Received:
    path: str
    headers: dict
    claims: dict
    payload: dict


class PushService:
    """A push service on loopback. Each push must carry a VAPID JWT signed by the key chatd
    serves, for this origin; its body is decrypted with the browser's keys. `answers` lists the
    statuses to give, per path, before it takes pushes (201). While `held` is set, requests wait
    for it to be released and are then refused (503), never taken."""

    def __init__(self, public_key: str):
        self.public_key = public_key
        self.browsers: dict[str, Browser] = {}
        self.answers: dict[str, list[int]] = {}
        self.received: list[Received] = []
        self.requests = 0
        self.delay = 0.0
        self.held: asyncio.Event | None = None
        self.origin = ""

    def browser(self, name: str) -> Browser:
        browser = self.browsers[f"/push/{name}"] = Browser(f"{self.origin}/push/{name}")
        return browser

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.held is not None:
            await self.held.wait()
            return web.Response(status=503)
        await asyncio.sleep(self.delay)
        answers = self.answers.get(request.path)
        if answers:
            return web.Response(status=answers.pop(0))
        scheme, _, params = request.headers["Authorization"].partition(" ")
        fields = dict(part.split("=", 1) for part in params.split(","))
        assert scheme == "vapid" and fields["k"] == self.public_key
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(self.public_key))
        claims = jwt.decode(fields["t"], key, algorithms=["ES256"], audience=self.origin)  # checks the signature
        browser = self.browsers[request.path]
        body = http_ece.decrypt(await request.read(), private_key=browser.private_key, auth_secret=browser.auth,
                                version="aes128gcm")
        self.received.append(Received(request.path, request.headers.copy(), claims, json.loads(body)))
        return web.Response(status=201)

    def hold(self) -> None:
        self.held = asyncio.Event()

    def release(self) -> None:
        self.held.set()
        self.held = None

    async def until_requests(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while self.requests < count:
                await asyncio.sleep(0.02)

    async def until(self, count: int, timeout: float = 10.0) -> list[Received]:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                await asyncio.sleep(0.02)
        return self.received


@pytest.fixture
def push_config(config) -> Config:
    return replace(config, push_allow_http=True)


@pytest.fixture
async def client(aiohttp_client, push_config, db):
    """The app taking the loopback receiver's http:// endpoints, as CHATD_PUSH_ALLOW_HTTP=1 does."""
    return await aiohttp_client(create_app(push_config))


async def start_receiver(public_key: str) -> tuple[PushService, web.AppRunner]:
    service = PushService(public_key)
    app = web.Application()
    app.router.add_post("/push/{name}", service.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    service.origin = "http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1]
    return service, runner


async def served_key(http, base: str) -> str:
    async with http.get(base + "/push/vapid-public-key") as resp:
        assert resp.status == 200
        return (await resp.json())["public_key"]


@pytest.fixture
async def push_service(client):
    service, runner = await start_receiver(await served_key(client, ""))
    yield service
    await runner.cleanup()


@pytest.fixture
async def friends(add_member, bob, carol):
    await add_member(bob)
    await add_member(carol)


async def subscribe(client, person, browser: Browser, status: int = 204) -> None:
    resp = await client.post("/chat/users/@me/push-subscriptions", json=browser.subscription(), headers=person.auth)
    assert resp.status == status, await resp.text()


async def open_dm(client, person, *others) -> str:
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(o.id) for o in others]}, headers=person.auth)
    assert resp.status in (200, 201), await resp.text()
    return (await resp.json())["id"]


async def send_dm(client, person, dm_id: str, text: str) -> dict:
    resp = await client.post(f"/chat/dms/{dm_id}/messages", json={"text": text}, headers=person.auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def outbox_empty(db, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while await push_queries.count_pushes(db):
            await asyncio.sleep(0.02)


# The key

async def test_the_vapid_public_key_is_an_uncompressed_p256_point_kept_in_the_database(client, db):
    public_key = await served_key(client, "")
    point = unb64(public_key)
    assert len(point) == 65 and point[0] == 4
    private = ec.derive_private_key(int.from_bytes(await push_queries.get_test_vapid_key(db), "big"), ec.SECP256R1())
    assert b64(private.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint)) == public_key


async def test_a_configured_vapid_key_is_the_one_served(aiohttp_client, push_config, db):
    private = ec.generate_private_key(ec.SECP256R1())
    raw = b64(private.private_numbers().private_value.to_bytes(32, "big"))
    cfg = Config.from_env({"SECRET_KEY": "x" * 40, "CHATD_VAPID_PRIVATE_KEY": raw}, dotenv=None)
    client = await aiohttp_client(create_app(replace(push_config, vapid_private_key=cfg.vapid_private_key)))
    assert await served_key(client, "") == b64(private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


@pytest.mark.parametrize("value", ["not base64 at all!", b64(b"\x01" * 31), b64(b"\x00" * 32), b64(b"\xff" * 32)])
def test_a_bad_vapid_private_key_is_a_startup_error_naming_it(value):
    with pytest.raises(ConfigError, match="^CHATD_VAPID_PRIVATE_KEY is not"):
        Config.from_env({"CHATD_VAPID_PRIVATE_KEY": value}, dotenv=None)


@pytest.mark.parametrize("value", ["admin@example.com", "mailto:nobody", "http://example.com", "https://example.com/x"])
def test_a_bad_vapid_subject_is_a_startup_error_naming_it(value):
    with pytest.raises(ConfigError, match="^CHATD_VAPID_SUBJECT="):
        Config.from_env({"CHATD_VAPID_SUBJECT": value}, dotenv=None)


def test_push_settings_default_to_https_only_and_a_local_contact():
    cfg = Config.from_env({}, dotenv=None)
    assert (cfg.vapid_private_key, cfg.vapid_subject, cfg.push_allow_http) == (None, "mailto:admin@localhost", False)
    assert Config.from_env({"CHATD_PUSH_ALLOW_HTTP": "1",
                            "CHATD_VAPID_SUBJECT": "https://chat.example.org"}, dotenv=None).push_allow_http


# Delivery

async def test_a_dm_to_a_user_with_no_socket_is_pushed_signed_and_encrypted(client, alice, bob, friends,
                                                                            push_service, db):
    browser = push_service.browser("bob")
    await subscribe(client, bob, browser)
    dm_id = await open_dm(client, alice, bob)
    message = await send_dm(client, alice, dm_id, "x" * 150)
    [push] = await push_service.until(1)
    assert push.payload == {"kind": "dm", "messageId": message["id"], "channelId": dm_id, "serverId": None,
                            "from": {"userId": str(alice.id), "username": "alice"}, "preview": "x" * 100}
    assert push.claims["sub"] == "mailto:admin@localhost" and push.claims["exp"] > time.time()
    assert push.headers["Content-Encoding"] == "aes128gcm"
    assert push.headers["Urgency"] == "high"
    assert 86000 < int(push.headers["TTL"]) <= 86400
    await outbox_empty(db)
    metrics = await scrape(client)
    assert metrics[("chatd_pushes_sent_total", ())] == 1.0
    assert push_service.requests == 1


async def test_the_sender_and_an_unmentioning_server_message_get_no_push(client, alice, bob, server, friends, push_service, db):
    await subscribe(client, alice, push_service.browser("alice"))
    await subscribe(client, bob, push_service.browser("bob"))
    await send_dm(client, alice, await open_dm(client, alice, bob), "to bob")
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "hi"},
                             headers=alice.auth)
    assert resp.status == 201
    [push] = await push_service.until(1)
    await asyncio.sleep(1.5)
    assert push.path == "/push/bob" and len(push_service.received) == 1


async def test_a_mention_in_a_server_channel_is_pushed_as_a_mention(client, alice, bob, carol, server, friends,
                                                                    push_service, db):
    """Server channels notify by mention (the default setting); carol, not mentioned, gets nothing."""
    await subscribe(client, bob, push_service.browser("bob"))
    await subscribe(client, carol, push_service.browser("carol"))
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "hey @bob"},
                             headers=alice.auth)
    assert resp.status == 201
    message = await resp.json()
    [push] = await push_service.until(1)
    assert push.payload == {"kind": "mention", "messageId": message["id"], "channelId": server.general,
                            "serverId": server.id, "from": {"userId": str(alice.id), "username": "alice"},
                            "preview": "hey @bob"}
    await outbox_empty(db)
    assert push_service.requests == 1


async def test_a_user_with_an_open_socket_gets_no_push(client, alice, bob, carol, friends, push_service, db):
    await subscribe(client, bob, push_service.browser("bob"))
    await subscribe(client, carol, push_service.browser("carol"))
    ws = await connect(client, bob)
    await shown(db, bob, "online")
    message = await send_dm(client, alice, await open_dm(client, alice, bob, carol), "to both")
    [push] = await push_service.until(1)
    assert (push.path, push.payload["messageId"]) == ("/push/carol", message["id"])
    await outbox_empty(db)
    assert push_service.requests == 1  # one statement queued both: none was queued for bob
    await ws.close()


async def test_a_410_removes_the_subscription_and_its_pushes(client, alice, bob, friends, push_service, db, caplog):
    gone = push_service.browser("gone")
    await subscribe(client, bob, gone)
    await subscribe(client, bob, push_service.browser("bob"))
    push_service.answers["/push/gone"] = [410]
    await send_dm(client, alice, await open_dm(client, alice, bob), "hello")
    await push_service.until(1)
    await outbox_empty(db)
    assert [row["endpoint"] async for row in push_queries.list_push_endpoints(db)] == [f"{push_service.origin}/push/bob"]
    metrics = await scrape(client)
    assert metrics[("chatd_pushes_failed_total", (("reason", "gone"),))] == 1.0
    assert metrics[("chatd_pushes_dropped_total", (("reason", "gone"),))] == 1.0
    [line] = [r for r in caplog.records if "event=push_failed" in r.getMessage()]
    assert line.getMessage().startswith("event=push_failed reason=gone status=410 push_id=")
    assert line.getMessage().endswith(f"service={push_service.origin}")  # not the endpoint's secret path
    assert line.exc_info is None


async def test_a_500_is_retried_with_backoff_then_delivered(client, alice, bob, friends, push_service, db):
    await subscribe(client, bob, push_service.browser("bob"))
    push_service.answers["/push/bob"] = [500, 503]
    started = time.monotonic()
    message = await send_dm(client, alice, await open_dm(client, alice, bob), "eventually")
    [push] = await push_service.until(1)
    assert push.payload["messageId"] == message["id"]
    assert push_service.requests == 3
    assert time.monotonic() - started >= 3  # 1 s after the first failure, 2 s after the second
    metrics = await scrape(client)
    assert metrics[("chatd_pushes_failed_total", (("reason", "server"),))] == 2.0
    assert metrics[("chatd_pushes_sent_total", ())] == 1.0


async def test_another_4xx_drops_the_push_and_keeps_the_subscription(client, alice, bob, friends, push_service, db):
    await subscribe(client, bob, push_service.browser("bob"))
    push_service.answers["/push/bob"] = [400]
    dm_id = await open_dm(client, alice, bob)
    await send_dm(client, alice, dm_id, "refused")
    await outbox_empty(db)
    second = await send_dm(client, alice, dm_id, "taken")
    [push] = await push_service.until(1)
    assert push.payload["messageId"] == second["id"] and push_service.requests == 2
    assert (await scrape(client))[("chatd_pushes_dropped_total", (("reason", "rejected"),))] == 1.0


async def test_a_push_past_its_ttl_is_dropped_unsent(client, bob, push_service, db):
    browser = push_service.browser("bob")
    await subscribe(client, bob, browser)
    await push_queries.queue_expired_push(db, endpoint=browser.endpoint)
    await outbox_empty(db)
    assert push_service.requests == 0
    assert (await scrape(client))[("chatd_pushes_dropped_total", (("reason", "expired"),))] == 1.0


async def test_a_push_service_that_cannot_be_reached_is_retried(client, alice, bob, friends, push_service, db,
                                                                monkeypatch):
    monkeypatch.setattr(pushes_module, "SEND_TIMEOUT", aiohttp.ClientTimeout(total=0.3))
    await subscribe(client, bob, push_service.browser("bob"))
    push_service.hold()  # the first attempt times out; the next finds it answering
    await send_dm(client, alice, await open_dm(client, alice, bob), "slow")
    await push_service.until_requests(1)
    async with asyncio.timeout(5):
        while (await scrape(client))[("chatd_pushes_failed_total", (("reason", "network"),))] != 1.0:
            await asyncio.sleep(0.05)
    push_service.release()
    await push_service.until(1)
    assert push_service.requests == 2


async def test_a_push_claimed_by_a_process_that_stopped_mid_send_is_sent_by_another_after_the_lease(
        aiohttp_client, client, alice, bob, friends, push_service, push_config, db, monkeypatch):
    monkeypatch.setattr(pushes_module, "LEASE_SECONDS", 1)
    await subscribe(client, bob, push_service.browser("bob"))
    push_service.hold()  # the send is under way when its process stops
    message = await send_dm(client, alice, await open_dm(client, alice, bob), "survives")
    await push_service.until_requests(1)
    await client.close()
    assert await push_queries.count_pushes(db) == 1  # still in the outbox
    push_service.release()
    await aiohttp_client(create_app(push_config))  # another process, whose worker finds it once the lease ends
    [push] = await push_service.until(1)
    assert push.payload["messageId"] == message["id"]
    await outbox_empty(db)


# Subscriptions

async def test_subscribing_again_is_idempotent_and_an_endpoint_moves_to_whoever_registers_it(
        client, alice, bob, friends, push_service, db):
    browser = push_service.browser("shared")
    await subscribe(client, bob, browser)
    await subscribe(client, bob, browser)
    await subscribe(client, alice, browser)
    assert [(r["endpoint"], r["user_id"]) async for r in push_queries.list_push_endpoints(db)] == [
        (browser.endpoint, alice.id)]
    await send_dm(client, alice, await open_dm(client, alice, bob), "bob has no browser now")
    await asyncio.sleep(1.5)
    assert push_service.requests == 0


async def test_an_unsubscribed_endpoint_gets_no_push_and_unsubscribing_twice_is_404(
        client, alice, bob, friends, push_service, db):
    browser = push_service.browser("bob")
    await subscribe(client, bob, browser)
    url = "/chat/users/@me/push-subscriptions"
    resp = await client.delete(url, json={"endpoint": browser.endpoint}, headers=alice.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "push subscription not found"})  # not hers
    assert (await client.delete(url, json={"endpoint": browser.endpoint}, headers=bob.auth)).status == 204
    resp = await client.delete(url, json={"endpoint": browser.endpoint}, headers=bob.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "push subscription not found"})
    await send_dm(client, alice, await open_dm(client, alice, bob), "nobody listens")
    await asyncio.sleep(1.5)
    assert push_service.requests == 0


def _with(**changes) -> dict:
    browser = Browser("https://push.example.net/send/abc")
    body = browser.subscription()
    for name, value in changes.items():
        if name == "endpoint":
            body["endpoint"] = value
        else:
            body["keys"][name] = value
    return body


POINT = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


@pytest.mark.parametrize("body, detail", [
    (_with(endpoint="/send/abc"), "endpoint must be an absolute https:// URL"),
    (_with(endpoint="push.example.net/send"), "endpoint must be an absolute https:// URL"),
    (_with(endpoint="ftp://push.example.net/x"), "endpoint must be an absolute https:// URL"),
    (_with(endpoint="https://push.example.net:99999/x"), "endpoint is not a URL"),
    (_with(endpoint="https://user:pw@push.example.net/x"), "endpoint must be an absolute https:// URL"),
    (_with(endpoint="https://push.example.net/a b"), "endpoint is not a URL"),
    (_with(p256dh=b64(POINT[:64])), "keys.p256dh is not an uncompressed P-256 point (65 bytes)"),
    (_with(p256dh=b64(b"\x02" + POINT[1:])), "keys.p256dh is not an uncompressed P-256 point (65 bytes)"),
    (_with(p256dh=b64(b"\x04" + b"\x01" * 64)), "keys.p256dh is not a point on P-256"),
    (_with(p256dh="@@@"), None),
    (_with(p256dh="a"), "keys.p256dh is not base64url"),
    (_with(auth=b64(b"\x01" * 15)), "keys.auth is not 16 bytes"),
    (_with(auth=b64(b"\x01" * 32)), "keys.auth is not 16 bytes"),
    ({"endpoint": "https://push.example.net/x"}, "Object missing required field `keys`"),
    ({**_with(), "extra": None}, None),
], ids=["relative", "no-scheme", "ftp", "bad-port", "credentials", "space", "p256dh-64-bytes",
        "p256dh-compressed", "p256dh-off-curve", "p256dh-not-base64", "p256dh-truncated", "auth-15-bytes",
        "auth-32-bytes", "no-keys", "unknown-field"])
async def test_a_malformed_subscription_is_400(client, alice, body, detail, db):
    resp = await client.post("/chat/users/@me/push-subscriptions", json=body, headers=alice.auth)
    assert resp.status == 400
    if detail is not None:
        assert await resp.json() == {"detail": detail}
    assert [r async for r in push_queries.list_push_endpoints(db)] == []


async def test_a_nul_character_in_an_endpoint_is_400_to_subscribe_and_to_unsubscribe(client, alice, db):
    url = "/chat/users/@me/push-subscriptions"
    detail = {"detail": "Expected `str` matching regex '^[^\\\\x00]*$' - at `$.endpoint`"}
    resp = await client.post(url, json=_with(endpoint="https://push.example.net/\u0000"), headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, detail)
    resp = await client.delete(url, json={"endpoint": "c\u0000\u0017"}, headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, detail)


async def test_an_http_endpoint_is_refused_unless_allowed(aiohttp_client, config, alice, db):
    client = await aiohttp_client(create_app(config))  # CHATD_PUSH_ALLOW_HTTP unset
    resp = await client.post("/chat/users/@me/push-subscriptions",
                             json=_with(endpoint="http://127.0.0.1:9/push/x"), headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, {"detail": "endpoint must be an https:// URL"})
    resp = await client.post("/chat/users/@me/push-subscriptions", json=_with(), headers=alice.auth)
    assert resp.status == 204


async def test_a_browsers_subscription_json_is_taken_as_it_is(client, alice, db):
    """PushSubscription.toJSON() carries expirationTime too."""
    resp = await client.post("/chat/users/@me/push-subscriptions", json={**_with(), "expirationTime": None},
                             headers=alice.auth)
    assert resp.status == 204
    assert [r["endpoint"] async for r in push_queries.list_push_endpoints(db)] == [_with()["endpoint"]]


async def test_subscriptions_need_a_token(client):
    resp = await client.post("/chat/users/@me/push-subscriptions", json=_with())
    assert resp.status == 401


# Two processes

async def test_two_processes_starting_at_once_share_the_key_generated_once(start, db, http):
    await push_queries.forget_vapid_key(db)
    one, two = await asyncio.gather(start(), start())
    key = await served_key(http, one.url)
    assert await served_key(http, two.url) == key
    raw = await push_queries.get_test_vapid_key(db)
    assert b64(ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)) == key


async def test_with_two_processes_each_push_is_sent_exactly_once(start, db, http, make_user):
    one, two = await asyncio.gather(start(CHATD_PUSH_ALLOW_HTTP="1"), start(CHATD_PUSH_ALLOW_HTTP="1"))
    service, runner = await start_receiver(await served_key(http, one.url))
    service.delay = 0.05  # sends overlap, so both workers have claims in flight
    try:
        alice, bob = await make_user("alice"), await make_user("bob")
        async with http.post(one.url + "/chat/servers", json={"name": "G"}, headers=alice.auth) as resp:
            server_id = (await resp.json())["id"]
        async with http.post(f"{one.url}/chat/servers/{server_id}/members",
                             json={"user_id": str(bob.id), "role": "MEMBER"}, headers=alice.auth) as resp:
            assert resp.status == 201
        browser = service.browser("bob")
        async with http.post(two.url + "/chat/users/@me/push-subscriptions", json=browser.subscription(),
                             headers=bob.auth) as resp:
            assert resp.status == 204
        async with http.post(one.url + "/chat/dms", json={"recipient_ids": [str(bob.id)]}, headers=alice.auth) as resp:
            dm_id = (await resp.json())["id"]

        async def send(base: str, k: int) -> str:
            async with http.post(f"{base}/chat/dms/{dm_id}/messages", json={"text": f"m{k}"},
                                 headers=alice.auth) as resp:
                assert resp.status == 201
                return (await resp.json())["id"]

        sent = await asyncio.gather(*(send((one, two)[k % 2].url, k) for k in range(40)))
        await service.until(40, timeout=20)
        await outbox_empty(db)
        await asyncio.sleep(1.5)  # a second send of any would arrive by now
        assert sorted(p.payload["messageId"] for p in service.received) == sorted(sent)
        assert service.requests == 40
    finally:
        await runner.cleanup()
