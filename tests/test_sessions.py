"""Sessions end: a logout revokes the token presented, logging out everywhere and a password
change revoke every token of the user; a revoked token is refused over REST and its sockets are
closed with 4401 "token revoked"; the original deployment's tokens last until the first
revocation. Against a real chatd app, real PostgreSQL and real WebSocket clients."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import jwt
import pytest
from aiohttp import WSMsgType

from chatd import keys
from chatd.domain.notes import TokensRevokedNote
from conftest import PASSWORD

from test_gateway import connect

REVOKED = {"detail": "token revoked"}
NEW_PASSWORD = "a brand new passphrase"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client, username: str, password: str = PASSWORD) -> str:
    resp = await client.post("/auth/login", json={"username": username, "password": password})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["access_token"]


async def me(client, token: str) -> tuple[int, dict]:
    resp = await client.get("/auth/me", headers=bearer(token))
    return resp.status, await resp.json()


async def closed_with(ws, timeout: float = 1.0) -> tuple[int, str]:
    """The close code and reason the socket gets next (skipping events), within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        message = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        if message.type == WSMsgType.CLOSE:
            return message.data, message.extra
        assert message.type == WSMsgType.TEXT, message


async def still_open(ws) -> bool:
    await ws.send_json({"type": "get_servers"})
    return (await ws.receive_json(timeout=5))["type"] == "servers_data"


def legacy_token(config, person) -> str:
    """What the original deployment issued: only user_id and exp."""
    return jwt.encode({"user_id": str(person.id), "exp": int(time.time()) + 600}, config.secret_key, algorithm="HS256")


# Logging out

async def test_logout_refuses_the_token_over_rest_and_closes_its_socket_with_4401_within_a_second(client, alice):
    other = await login(client, "alice")
    revoked_socket, other_socket = await connect(client, alice), await client.ws_connect(
        "/chat/ws", params={"token": other})
    assert (await other_socket.receive_json(timeout=5))["type"] == "connected"
    resp = await client.post("/auth/logout", headers=alice.auth)
    assert resp.status == 204
    assert await closed_with(revoked_socket) == (4401, "token revoked")
    assert await me(client, alice.token) == (401, REVOKED)
    # The user's other session goes on.
    assert (await me(client, other))[0] == 200
    assert await still_open(other_socket)


async def test_requests_checked_together_each_get_their_own_tokens_answer(client, config, alice, bob):
    """Tokens checked in one query (chatd.domain.tokens.TokenUsers): a revoked token, a
    legacy one and two users' valid ones, many of each at once, each answered for itself."""
    revoked = await login(client, "alice")
    assert (await client.post("/auth/logout", headers=bearer(revoked))).status == 204
    tokens = [alice.token, bob.token, revoked, legacy_token(config, bob)] * 10
    answers = await asyncio.gather(*(me(client, token) for token in tokens))
    assert [(status, body.get("username", body.get("detail"))) for status, body in answers] == \
        [(200, "alice"), (200, "bob"), (401, "token revoked"), (200, "bob")] * 10


async def test_a_revoked_token_cannot_open_a_socket(client, alice):
    assert (await client.post("/auth/logout", headers=alice.auth)).status == 204
    ws = await client.ws_connect("/chat/ws", params={"token": alice.token})
    closed = await ws.receive(timeout=5)
    assert (closed.data, closed.extra) == (4401, "token revoked")


async def test_logout_needs_a_valid_token(client, alice):
    assert (await client.post("/auth/logout", headers=alice.auth)).status == 204
    resp = await client.post("/auth/logout", headers=alice.auth)
    assert (resp.status, await resp.json()) == (401, REVOKED)


async def test_a_revocation_deletes_the_revocations_that_are_past_their_expiry(client, config, db, app_queries,
                                                                               test_queries, alice):
    expired_jti = uuid4()
    await app_queries.revoke_tokens(db, notify_channel="elsewhere", user_id=alice.id, jti=expired_jti,
                                    expires_at=datetime.now(timezone.utc) - timedelta(seconds=1), valid_after=None)
    assert [row["jti"] async for row in test_queries.list_revoked_tokens(db)] == [expired_jti]
    assert (await client.post("/auth/logout", headers=alice.auth)).status == 204
    rows = [row async for row in test_queries.list_revoked_tokens(db)]
    claims = jwt.decode(alice.token, config.secret_key, algorithms=["HS256"])
    assert [(str(r["jti"]), r["user_id"], r["expires_at"].timestamp()) for r in rows] == [
        (claims["jti"], alice.id, claims["exp"])]


# Early reads (chatd.web.auth.requires_user)

@pytest.mark.parametrize("revoked", [False, True], ids=["valid", "revoked"])
async def test_an_early_read_runs_beside_the_token_check_and_answers_only_after_it(
        client, server, alice, bob, add_member, db, test_queries, lock_waiters, revoked):
    """GET /chat/unreads starts once the token's signature is checked, while the database is
    still asked whether the token was revoked: with that check held up by a lock, the read
    runs (it keeps the counts it counted) and the answer waits. Once the check goes through,
    a valid token gets the counts, a revoked one its 401 and nothing else."""
    await add_member(bob)
    for i in range(3):
        resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": f"m{i}"},
                                 headers=alice.auth)
        assert resp.status == 201
    token = await login(client, "bob")
    resp = await client.put(f"{server.url}/channels/{server.general}/read-state", json={"last_read_seq": 0},
                            headers=bearer(token))
    assert resp.status == 200  # a row to keep counts in, none kept for the pointer it now has
    if revoked:
        assert (await client.post("/auth/logout", headers=bearer(token))).status == 204
    assert not await test_queries.counts_kept(db, user_id=bob.id, channel_id=server.general)
    async with db.transaction():
        await test_queries.lock_revoked_tokens(db)
        answer = asyncio.create_task(client.get("/chat/unreads", headers=bearer(token)))
        await lock_waiters(1)  # the token check
        async with asyncio.timeout(10):
            while not await test_queries.counts_kept(db, user_id=bob.id, channel_id=server.general):
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert not answer.done()
    resp = await answer
    if revoked:
        assert (resp.status, await resp.json()) == (401, REVOKED)
    else:
        assert resp.status == 200
        assert [(e["channel_id"], e["unread_count"]) for e in await resp.json()] == [(server.general, 3)]


async def test_an_early_read_refuses_a_token_whose_user_is_gone(client, alice):
    resp = await client.delete("/auth/me", json={"password": PASSWORD}, headers=alice.auth)
    assert resp.status == 204, await resp.text()
    resp = await client.get("/chat/unreads", headers=alice.auth)
    assert resp.status == 401, await resp.text()


# The cache of verified tokens

async def test_a_cached_token_revoked_elsewhere_is_refused_without_any_note(client, db, app_queries, alice):
    """The cache proves only the signature: a revocation this process never heard of (its note
    went to another channel) is still refused, over REST and at connect."""
    assert (await me(client, alice.token))[0] == 200
    cached = client.app[keys.tokens].claims(alice.token)
    assert client.app[keys.tokens].claims(alice.token) is cached  # served from the cache
    await app_queries.revoke_tokens(db, notify_channel="elsewhere", user_id=alice.id, jti=cached.jti,
                                    expires_at=datetime.fromtimestamp(cached.expires, timezone.utc),
                                    valid_after=None)
    assert await me(client, alice.token) == (401, REVOKED)
    ws = await client.ws_connect("/chat/ws", params={"token": alice.token})
    closed = await ws.receive(timeout=5)
    assert (closed.data, closed.extra) == (4401, "token revoked")


async def test_a_connect_that_looked_up_before_a_revocation_is_refused_once_its_note_arrived(client, alice):
    """The note stands for a revocation that committed after the connect's lookup read the
    database (which still says the token is good)."""
    claims = client.app[keys.tokens].claims(alice.token)
    await client.app[keys.notes].publish(TokensRevokedNote(
        user_id=alice.id, jti=claims.jti, valid_after=datetime.fromtimestamp(0, timezone.utc)))
    await asyncio.sleep(0.2)  # the note goes round PostgreSQL
    assert (await me(client, alice.token))[0] == 200
    ws = await client.ws_connect("/chat/ws", params={"token": alice.token})
    closed = await ws.receive(timeout=5)
    assert (closed.data, closed.extra) == (4401, "token revoked")


# Logging out everywhere

async def test_logout_everywhere_refuses_every_token_and_closes_every_socket_of_the_user_only(client, alice, bob):
    other = await login(client, "alice")
    sockets = [await connect(client, alice), await connect(client, alice)]
    other_socket = await client.ws_connect("/chat/ws", params={"token": other})
    assert (await other_socket.receive_json(timeout=5))["type"] == "connected"
    bobs = await connect(client, bob)
    resp = await client.post("/auth/logout-all", headers=alice.auth)
    assert resp.status == 204
    for ws in (*sockets, other_socket):
        assert await closed_with(ws) == (4401, "token revoked")
    assert await me(client, alice.token) == (401, REVOKED)
    assert await me(client, other) == (401, REVOKED)
    assert (await me(client, bob.token))[0] == 200
    assert await still_open(bobs)


async def test_a_login_right_after_logging_out_everywhere_gets_a_token_that_works(client, alice):
    assert (await client.post("/auth/logout-all", headers=alice.auth)).status == 204
    fresh = await login(client, "alice")
    assert (await me(client, fresh))[0] == 200
    ws = await client.ws_connect("/chat/ws", params={"token": fresh})
    assert (await ws.receive_json(timeout=5))["type"] == "connected"


# Changing the password

async def test_a_password_change_returns_a_working_token_and_refuses_every_other(client, config, alice):
    other = await login(client, "alice")
    sockets = [await connect(client, alice), await client.ws_connect("/chat/ws", params={"token": other})]
    resp = await client.put("/auth/password", json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
                            headers=alice.auth)
    assert resp.status == 200
    body = await resp.json()
    assert body == {"access_token": body["access_token"], "token_type": "bearer", "expires_in": 30 * 60}
    for ws in sockets:
        assert await closed_with(ws) == (4401, "token revoked")
    assert await me(client, alice.token) == (401, REVOKED)
    assert await me(client, other) == (401, REVOKED)
    assert await me(client, body["access_token"]) == (200, {"user_id": str(alice.id), "username": "alice"})
    fresh = await client.ws_connect("/chat/ws", params={"token": body["access_token"]})
    assert (await fresh.receive_json(timeout=5))["type"] == "connected"
    old = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert (old.status, await old.json()) == (401, {"detail": "wrong username or password"})
    assert (await me(client, await login(client, "alice", NEW_PASSWORD)))[0] == 200


async def test_a_password_change_with_a_wrong_old_password_is_403_and_changes_nothing(client, alice):
    resp = await client.put("/auth/password", json={"old_password": "not my password", "new_password": NEW_PASSWORD},
                            headers=alice.auth)
    assert (resp.status, await resp.json()) == (403, {"detail": "wrong password"})
    assert (await me(client, alice.token))[0] == 200
    assert (await me(client, await login(client, "alice")))[0] == 200


async def test_a_new_password_follows_the_sign_up_rules(client, alice):
    resp = await client.put("/auth/password", json={"old_password": PASSWORD, "new_password": "short"},
                            headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, {"detail": "Expected `str` of length >= 8 - at `$.new_password`"})
    assert (await me(client, alice.token))[0] == 200


# The original deployment's tokens

async def test_a_legacy_token_works_until_the_users_first_logout_then_is_refused(client, config, alice, bob):
    legacy = legacy_token(config, alice)
    assert await me(client, legacy) == (200, {"user_id": str(alice.id), "username": "alice"})
    legacy_socket = await client.ws_connect("/chat/ws", params={"token": legacy})
    assert (await legacy_socket.receive_json(timeout=5))["type"] == "connected"
    assert (await me(client, legacy_token(config, bob)))[0] == 200
    assert (await client.post("/auth/logout", headers=alice.auth)).status == 204  # a token of the new kind
    assert await closed_with(legacy_socket) == (4401, "token revoked")
    assert await me(client, legacy) == (401, REVOKED)
    assert await me(client, legacy_token(config, alice)) == (401, REVOKED)  # minted afterwards, too
    assert (await me(client, legacy_token(config, bob)))[0] == 200  # someone else's first revocation
    assert (await me(client, await login(client, "alice")))[0] == 200


async def test_a_logout_with_a_legacy_token_ends_it(client, config, alice):
    legacy = legacy_token(config, alice)
    assert (await client.post("/auth/logout", headers=bearer(legacy))).status == 204
    assert await me(client, legacy) == (401, REVOKED)
    assert (await me(client, alice.token))[0] == 200


async def test_password_guesses_through_a_password_change_count_as_failed_logins(client, alice):
    """A stolen token is no way around the login limits: after 10 wrong old passwords, the 11th
    attempt is 429 even with the right one, and logging in is throttled too."""
    wrong = {"old_password": "not the password", "new_password": "a new password"}
    for _ in range(10):
        assert (await client.put("/auth/password", json=wrong, headers=alice.auth)).status == 403
    resp = await client.put("/auth/password", json={"old_password": PASSWORD, "new_password": "a new password"},
                            headers=alice.auth)
    assert (resp.status, await resp.json()) == (429, {"detail": "too many failed logins, retry later"})
    assert int(resp.headers["Retry-After"]) > 0
    login_resp = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert login_resp.status == 429
