"""The WebSocket protocol, against a real chatd app, real PostgreSQL and real WS clients."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from uuid import uuid4

import aiosql
import jwt
import pytest
from aiohttp import WSMsgType

from chatd import keys
from chatd.app import create_app
from chatd.config import RateLimit
from chatd.gateway import typing as typing_module
from tests.conftest import TEST_SQL
from chatd.gateway import ws as ws_module


gateway_queries = aiosql.from_path(TEST_SQL / "gateway.sql", "asyncpg")


async def connect(client, person, **params):
    ws = await client.ws_connect("/chat/ws", params={"token": person.token, **params})
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "connected"
    return ws


async def next_event(ws, kind: str, timeout: float = 5.0) -> dict:
    """The next event of this type (others, like typing, may interleave)."""
    deadline = time.monotonic() + timeout
    while True:
        event = await ws.receive_json(timeout=max(0.01, deadline - time.monotonic()))
        if event["type"] == kind:
            return event


async def no_event(ws, kind: str, wait: float = 0.5) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await next_event(ws, kind, timeout=wait)


def send(server, text: str, **extra) -> dict:
    return {"type": "send_message", "serverId": server.id, "channelId": server.general, "text": text, **extra}


async def test_connected_is_the_first_event_with_user_servers_and_heartbeat(client, alice, server):
    ws = await client.ws_connect("/chat/ws", params={"token": alice.token})
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "connected"
    assert hello["message"] == "Connected to chat server"
    assert hello["user_id"] == str(alice.id) and hello["username"] == "alice"
    assert [s["id"] for s in hello["servers"]] == [server.id]
    assert hello["servers"][0]["role"] == "ADMIN"
    assert hello["heartbeatInterval"] == 30000


async def test_identify_frame_authenticates_without_a_token_in_the_url(client, alice):
    ws = await client.ws_connect("/chat/ws")
    await ws.send_json({"type": "identify", "token": alice.token})
    assert (await ws.receive_json(timeout=5))["type"] == "connected"


@pytest.mark.parametrize("token", ["", "not-a-jwt"])
async def test_empty_or_invalid_token_parameter_is_refused_with_4401(client, token):
    ws = await client.ws_connect("/chat/ws", params={"token": token})
    closed = await ws.receive(timeout=5)
    assert closed.type == WSMsgType.CLOSE and closed.data == 4401


async def test_expired_token_is_refused_with_4401_and_a_reason(client, alice, config):
    token = jwt.encode({"user_id": str(alice.id), "exp": int(time.time()) - 5}, config.secret_key, algorithm="HS256")
    ws = await client.ws_connect("/chat/ws", params={"token": token})
    closed = await ws.receive(timeout=5)
    assert (closed.data, closed.extra) == (4401, "token has expired")


async def test_a_token_of_a_user_who_no_longer_exists_is_refused_with_4401(client, config):
    token = jwt.encode({"user_id": str(uuid4()), "exp": int(time.time()) + 60}, config.secret_key, algorithm="HS256")
    ws = await client.ws_connect("/chat/ws", params={"token": token})
    closed = await ws.receive(timeout=5)
    assert (closed.data, closed.extra) == (4401, "token names no user")


async def test_a_user_in_no_server_connects_with_an_empty_server_list(client, alice):
    ws = await client.ws_connect("/chat/ws", params={"token": alice.token})
    hello = await ws.receive_json(timeout=5)
    assert (hello["type"], hello["username"], hello["servers"]) == ("connected", "alice", [])


async def test_a_database_that_fails_during_connect_closes_with_1013_and_a_reason(client, alice):
    await client.app[keys.pool].close()  # the pool's queries now raise, as when the database is away
    ws = await client.ws_connect("/chat/ws", params={"token": alice.token})
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE
    assert message.data == 1013
    assert "database" in message.extra


async def test_a_first_frame_that_is_not_identify_is_refused_with_4401(client):
    ws = await client.ws_connect("/chat/ws")
    await ws.send_json({"type": "get_servers"})
    closed = await ws.receive(timeout=5)
    assert closed.data == 4401


async def test_no_identify_within_the_deadline_is_refused_with_4401(client, monkeypatch):
    monkeypatch.setattr(ws_module, "IDENTIFY_SECONDS", 0.2)
    ws = await client.ws_connect("/chat/ws")
    closed = await ws.receive(timeout=5)
    assert closed.data == 4401


async def test_a_message_reaches_every_member_and_echoes_to_the_sender(client, alice, bob, carol, server, add_member):
    await add_member(bob)
    a, b, c = await connect(client, alice), await connect(client, bob), await connect(client, carol)
    await a.send_json(send(server, "hello there", nonce="n-1"))
    echo, got = await next_event(a, "new_message"), await next_event(b, "new_message")
    assert echo == got
    assert set(echo) == {"type", "id", "user", "userId", "text", "timestamp", "createdAt", "serverId",
                         "channelId", "seq", "eventSeq", "nonce", "mentions", "mentionEveryone",
                         "mentionHere"}
    assert (echo["user"], echo["userId"], echo["text"], echo["serverId"], echo["channelId"], echo["seq"],
            echo["nonce"]) == ("alice", str(alice.id), "hello there", server.id, server.general, 1, "n-1")
    assert echo["timestamp"].endswith(("AM", "PM")) and echo["createdAt"].endswith("Z")
    await no_event(c, "new_message")


async def test_a_rest_posted_message_is_delivered_like_a_websocket_one(client, alice, server):
    a = await connect(client, alice)
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "via rest"},
                             headers=alice.auth)
    assert resp.status == 201
    event = await next_event(a, "new_message")
    assert (event["text"], event["id"], event["seq"]) == ("via rest", (await resp.json())["id"], 1)


async def test_every_connection_of_a_user_gets_every_event(client, alice, server):
    tabs = [await connect(client, alice) for _ in range(3)]
    await tabs[0].send_json(send(server, "to all tabs"))
    for tab in tabs:
        assert (await next_event(tab, "new_message"))["text"] == "to all tabs"


async def test_a_resent_nonce_creates_no_second_message(client, alice, server):
    a = await connect(client, alice)
    await a.send_json(send(server, "once", nonce="same"))
    first = await next_event(a, "new_message")
    await a.send_json(send(server, "once", nonce="same"))
    again = await next_event(a, "new_message")
    assert again["id"] == first["id"] and again["seq"] == first["seq"]
    history = await (await client.get(f"{server.url}/channels/{server.general}/messages", headers=alice.auth)).json()
    assert [m["text"] for m in history] == ["once"]


async def test_timestamp_follows_the_tz_parameter(client, alice, server):
    utc, tokyo = await connect(client, alice), await connect(client, alice, tz="Asia/Tokyo")
    await utc.send_json(send(server, "when"))
    a, b = await next_event(utc, "new_message"), await next_event(tokyo, "new_message")
    hour_utc, hour_tokyo = (int(e["timestamp"].split(":")[0]) for e in (a, b))
    assert (hour_tokyo - hour_utc) % 12 == 9 % 12
    assert a["createdAt"] == b["createdAt"]


async def test_unknown_tz_falls_back_to_utc_with_an_error_event(client, alice):
    ws = await client.ws_connect("/chat/ws", params={"token": alice.token, "tz": "Mars/Base"})
    assert (await ws.receive_json(timeout=5))["type"] == "connected"
    assert await ws.receive_json(timeout=5) == {
        "type": "error", "message": "unknown time zone 'Mars/Base': timestamps are in UTC"}


async def test_typing_reaches_the_other_members_but_not_the_typist(client, alice, bob, server, add_member):
    await add_member(bob)
    a, b = await connect(client, alice), await connect(client, bob)
    await a.send_json({"type": "typing_start", "serverId": server.id, "channelId": server.general})
    assert await next_event(b, "typing_start") == {
        "type": "typing_start", "username": "alice", "userId": str(alice.id),
        "serverId": server.id, "channelId": server.general}
    await a.send_json({"type": "typing_stop", "serverId": server.id, "channelId": server.general})
    assert (await next_event(b, "typing_stop"))["userId"] == str(alice.id)
    await no_event(a, "typing_start", wait=0.3)


async def test_typing_without_a_stop_expires(client, alice, bob, server, add_member, monkeypatch):
    monkeypatch.setattr(typing_module, "EXPIRY_SECONDS", 0.3)
    await add_member(bob)
    a, b = await connect(client, alice), await connect(client, bob)
    await a.send_json({"type": "typing_start", "serverId": server.id, "channelId": server.general})
    await next_event(b, "typing_start")
    assert (await next_event(b, "typing_stop", timeout=3))["username"] == "alice"


async def test_a_closed_socket_clears_its_typing_state(client, alice, bob, server, add_member):
    await add_member(bob)
    a, b = await connect(client, alice), await connect(client, bob)
    await a.send_json({"type": "typing_start", "serverId": server.id, "channelId": server.general})
    await next_event(b, "typing_start")
    await a.close()
    assert (await next_event(b, "typing_stop", timeout=3))["username"] == "alice"


async def test_get_servers_answers_servers_data_keyed_by_id(client, alice, server):
    a = await connect(client, alice)
    await a.send_json({"type": "get_servers"})
    data = await next_event(a, "servers_data")
    assert list(data["servers"]) == [server.id]
    assert data["servers"][server.id]["name"] == "Guild"
    assert data["servers"][server.id]["created_by"] == str(alice.id)


BAD_FRAMES = [
    ("not json", "frames must be JSON objects"),
    ("[1, 2]", "invalid frame: Expected `object`, got `array`"),
    ('"text"', "invalid frame: Expected `object`, got `str`"),
    ('{"text": "no type"}', "invalid frame: Object missing required field `type`"),
    ('{"type": "dance"}', "unknown event type 'dance'"),
    ('{"type": "send_message", "serverId": "nope", "channelId": "nope", "text": "x"}',
     "invalid send_message frame: Invalid UUID - at `$.serverId`"),
    ('{"type": "send_message", "serverId": "{sid}", "text": "x"}',
     "invalid send_message frame: Object missing required field `channelId`"),
    # Without serverId, channelId names a conversation (DM): one the caller is not in is not found.
    ('{"type": "send_message", "channelId": "{cid}", "text": "x"}', "conversation not found"),
    ('{"type": "send_message", "serverId": "{sid}", "channelId": "{cid}", "text": "   "}',
     "text must not be blank"),
    ('{"type": "send_message", "serverId": "{sid}", "channelId": "{cid}", "text": "' + "x" * 4001 + '"}',
     "text is longer than 4000 characters"),
    ('{"type": "send_message", "serverId": "{sid}", "channelId": "{cid}", "text": 5}',
     "invalid send_message frame: Expected `str`, got `int` - at `$.text`"),
    ('{"type": "send_message", "serverId": "00000000-0000-0000-0000-000000000000", "channelId": "{cid}", "text": "x"}',
     "server not found"),
    ('{"type": "send_message", "serverId": "{sid}", "channelId": "00000000-0000-0000-0000-000000000000", "text": "x"}',
     "channel not found"),
    ('{"type": "send_message", "serverId": "{sid}", "channelId": "{cid}", "text": "x", "nonce": "' + "n" * 65 + '"}',
     "invalid send_message frame: Expected `str` of length <= 64 - at `$.nonce`"),
    ('{"type": "send_message", "serverId": "{sid}", "channelId": "{cid}", "text": "x", "nonce": "n\\u0000n"}',
     "invalid send_message frame: Expected `str` matching regex '^[^\\\\x00]*$' - at `$.nonce`"),
    ('{"type": "resume", "serverId": "{sid}", "channelId": "{cid}", "afterSeq": -1}',
     "invalid resume frame: Expected `int` >= 0 - at `$.afterSeq`"),
    ('{"type": "identify", "token": "again"}', "already identified"),
]


@pytest.mark.parametrize("frame,message", BAD_FRAMES, ids=[m for _, m in BAD_FRAMES])
async def test_a_bad_frame_gets_an_error_event_and_the_connection_stays_open(client, alice, server, frame, message):
    a = await connect(client, alice)
    await a.send_str(frame.replace("{sid}", server.id).replace("{cid}", server.general))
    assert await next_event(a, "error") == {"type": "error", "message": message}
    await a.send_json({"type": "get_servers"})
    assert (await next_event(a, "servers_data"))["servers"]


async def test_a_database_failure_mid_frame_is_an_error_event_and_the_socket_stays_open(
        aiohttp_client, config, db, alice, server, caplog):
    # A real failure, no mocks: chatd's connections give up on locks after 100 ms while this
    # test holds the channel table (asyncpg passes unknown URL parameters on as settings).
    separator = "&" if "?" in config.database_url else "?"
    impatient = await aiohttp_client(create_app(replace(config, database_url=f"{config.database_url}{separator}lock_timeout=100ms")))
    a = await connect(impatient, alice)
    async with db.transaction():
        await gateway_queries.lock_channels(db)
        await a.send_json(send(server, "during the outage", nonce="n-9"))
        assert await next_event(a, "error") == {"type": "error", "message": "internal error", "nonce": "n-9"}
    await a.send_json(send(server, "after it"))
    assert (await next_event(a, "new_message"))["text"] == "after it"
    assert [r.getMessage() for r in caplog.records if r.name == "chatd.gateway.session" and r.levelname == "ERROR"] == [
        f"event=ws_frame_failed user_id={alice.id}"]


async def test_a_binary_frame_gets_an_error_event(client, alice):
    a = await connect(client, alice)
    await a.send_bytes(b"\x00\x01")
    assert (await next_event(a, "error"))["message"] == "binary frames are not supported; send JSON text"


async def test_voice_channels_take_no_messages_over_the_socket(client, alice, server):
    voice = await (await client.post(f"{server.url}/channels", json={"name": "talk", "type": "voice"},
                                     headers=alice.auth)).json()
    a = await connect(client, alice)
    await a.send_json({"type": "send_message", "serverId": server.id, "channelId": voice["id"], "text": "hi"})
    assert (await next_event(a, "error"))["message"] == "this is a VOICE channel: only TEXT channels take messages"


async def test_a_non_member_sending_to_a_server_gets_server_not_found(client, bob, server):
    b = await connect(client, bob)
    await b.send_json(send(server, "let me in"))
    assert (await next_event(b, "error"))["message"] == "server not found"


async def test_an_added_member_starts_receiving_without_reconnecting(client, alice, bob, server):
    a, b = await connect(client, alice), await connect(client, bob)
    await client.post(f"{server.url}/members", json={"username": "bob"}, headers=alice.auth)
    added = await next_event(b, "member_added")
    assert added == {"type": "member_added", "serverId": server.id, "userId": str(bob.id),
                     "username": "bob", "role": "MEMBER"}
    assert (await next_event(a, "member_added"))["userId"] == str(bob.id)
    await a.send_json(send(server, "welcome"))
    assert (await next_event(b, "new_message"))["text"] == "welcome"


async def test_a_server_created_while_connected_is_live_on_that_connection(client, alice):
    a = await connect(client, alice)
    created = await (await client.post("/chat/servers", json={"name": "Fresh"}, headers=alice.auth)).json()
    assert await next_event(a, "member_added") == {"type": "member_added", "serverId": created["id"],
                                                   "userId": str(alice.id), "username": "alice", "role": "ADMIN"}
    general = (await (await client.get(f"/chat/servers/{created['id']}/channels", headers=alice.auth)).json())[0]
    await a.send_json({"type": "send_message", "serverId": created["id"], "channelId": general["id"], "text": "first"})
    assert (await next_event(a, "new_message"))["text"] == "first"


async def test_a_removed_member_stops_receiving_at_once(client, alice, bob, server, add_member):
    await add_member(bob)
    a, b = await connect(client, alice), await connect(client, bob)
    resp = await client.delete(f"{server.url}/members/{bob.id}", headers=alice.auth)
    assert resp.status == 204
    assert await next_event(b, "member_removed") == {"type": "member_removed", "serverId": server.id,
                                                     "userId": str(bob.id)}
    await a.send_json(send(server, "bob is gone"))
    await next_event(a, "new_message")
    await no_event(b, "new_message")


async def test_channel_created_and_server_deleted_reach_members(client, alice, bob, server, add_member):
    await add_member(bob)
    b = await connect(client, bob)
    created = await (await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)).json()
    event = await next_event(b, "channel_created")
    assert event == {"type": "channel_created", "serverId": server.id, "channel": created}
    assert created["name"] == "news"
    assert (await client.delete(server.url, headers=alice.auth)).status == 204
    assert await next_event(b, "server_deleted") == {"type": "server_deleted", "serverId": server.id}


async def test_resume_sends_missed_messages_in_order_then_live_ones(client, alice, server):
    url = f"{server.url}/channels/{server.general}/messages"
    for i in range(1, 8):
        assert (await client.post(url, json={"text": f"m{i}"}, headers=alice.auth)).status == 201
    a = await connect(client, alice)
    await a.send_json({"type": "resume", "serverId": server.id, "channelId": server.general, "afterSeq": 3})
    missed = [await next_event(a, "new_message") for _ in range(4)]
    assert [(m["seq"], m["text"]) for m in missed] == [(4, "m4"), (5, "m5"), (6, "m6"), (7, "m7")]
    assert await next_event(a, "resumed") == {"type": "resumed", "serverId": server.id,
                                              "channelId": server.general, "seq": 7}
    await a.send_json(send(server, "live"))
    assert (await next_event(a, "new_message"))["seq"] == 8


async def test_rest_history_accepts_after_seq(client, alice, server):
    url = f"{server.url}/channels/{server.general}/messages"
    for i in range(1, 6):
        await client.post(url, json={"text": f"m{i}"}, headers=alice.auth)
    page = await (await client.get(url, params={"after_seq": 2, "limit": 2}, headers=alice.auth)).json()
    assert [(m["seq"], m["text"]) for m in page] == [(3, "m3"), (4, "m4")]


@pytest.fixture
async def limited(aiohttp_client, config, db):
    """A chatd with the default limit: 5 messages per 5 s per channel."""
    return await aiohttp_client(create_app(replace(config, rate_limit=RateLimit(5, 5.0))))


async def test_sending_too_fast_gets_an_error_with_retry_after(limited, alice, server):
    a = await connect(limited, alice)
    for i in range(5):
        await a.send_json(send(server, f"burst {i}"))
    for _ in range(5):
        await next_event(a, "new_message")
    await a.send_json(send(server, "one too many", nonce="x"))
    error = await next_event(a, "error")
    assert error["message"] == "you are sending messages too fast" and error["nonce"] == "x"
    assert 0 < error["retryAfter"] <= 1.0


async def test_rest_sending_too_fast_gets_429_with_retry_after(limited, alice, server):
    url = f"{server.url}/channels/{server.general}/messages"
    statuses = [(await limited.post(url, json={"text": f"m{i}"}, headers=alice.auth)).status for i in range(5)]
    assert statuses == [201] * 5
    resp = await limited.post(url, json={"text": "too many"}, headers=alice.auth)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "1"
    assert await resp.json() == {"detail": "you are sending messages too fast"}


async def test_typing_start_is_passed_on_at_most_once_per_two_seconds(limited, alice, bob, server, add_member):
    await add_member(bob)
    a, b = await connect(limited, alice), await connect(limited, bob)
    for _ in range(3):
        await a.send_json({"type": "typing_start", "serverId": server.id, "channelId": server.general})
    await next_event(b, "typing_start")
    await no_event(b, "typing_start", wait=0.5)


async def test_origins_outside_the_allow_list_cannot_open_a_socket(aiohttp_client, config, db, alice):
    guarded = await aiohttp_client(create_app(replace(config, allowed_origins=("https://chat.example",))))
    refused = await guarded.get("/chat/ws", params={"token": alice.token},
                                headers={"Origin": "https://evil.example", "Upgrade": "websocket",
                                         "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert refused.status == 403
    ws = await guarded.ws_connect("/chat/ws", params={"token": alice.token}, origin="https://chat.example")
    assert (await ws.receive_json(timeout=5))["type"] == "connected"


async def test_a_message_too_big_for_a_notification_arrives_whole(client, alice, bob, server, add_member):
    await add_member(bob)
    b = await connect(client, bob)
    text = "é" * 3999 + "!"  # 8000 bytes of UTF-8: past NOTIFY's payload limit, so it travels by id
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": text},
                             headers=alice.auth)
    assert resp.status == 201
    assert (await next_event(b, "new_message"))["text"] == text
