"""Errors have one shape: {"detail": <str>} for every error status the API produces, and a
generic 500 with a request id for anything unexpected."""

from __future__ import annotations

import logging
from dataclasses import replace
from uuid import uuid4

import pytest

from chatd.app import create_app

BIG = 64 * 1024  # config.max_body_bytes


def case(status, detail, method, path, **kwargs):
    """A request (path may name {server}, {general}, {bob}; `auth` is whose token, if any)."""
    kwargs.setdefault("auth", "alice")
    return pytest.param(status, detail, method, path, kwargs, id=f"{status}-{detail}"[:60])


CASES = [
    case(400, "body is not valid JSON (Input data was truncated)", "POST", "/chat/servers",
         data=b'{"name": ', headers={"Content-Type": "application/json"}),
    case(400, "body is not valid JSON (Input data was truncated)", "POST", "/chat/servers", data=b""),
    case(400, "body is not valid JSON (JSON is malformed: invalid character (byte 4))", "POST", "/chat/servers",
         data=b"name=Guild", headers={"Content-Type": "application/json"}),
    case(400, "body is not valid JSON (JSON is malformed: trailing characters (byte 18))", "POST", "/chat/servers",
         data=b'{"name": "Guild"}}', headers={"Content-Type": "application/json"}),
    case(400, "Expected `object`, got `array`", "POST", "/chat/servers", json=["Guild"]),
    case(400, "Expected `str`, got `int` - at `$.name`", "POST", "/chat/servers", json={"name": 42}),
    case(400, "Expected `str`, got `bool` - at `$.text`", "POST", "{server}/channels/{general}/messages",
         json={"text": True}),
    case(400, "Object missing required field `password`", "POST", "/auth/register", json={"username": "zed"},
         auth=None),
    case(400, "Object missing required field `name`", "POST", "{server}/channels", json={"type": "TEXT"}),
    case(400, "Object contains unknown field `admin`", "POST", "/auth/register",
         json={"username": "zed", "password": "long enough", "admin": True}, auth=None),
    case(400, "Invalid enum value 'KING' - at `$.role`", "PATCH", "{server}/members/{bob}", json={"role": "KING"}),
    case(400, "Invalid enum value 'KING' - at `$.role`", "POST", "{server}/members",
         json={"username": "carol", "role": "KING"}),
    case(400, "limit must be at least 1", "GET", "{server}/channels/{general}/messages?limit=-5"),
    case(400, "offset must be a whole number, not 'ten'", "GET", "{server}/channels/{general}/messages?offset=ten"),
    case(400, "text must not be blank", "POST", "{server}/channels/{general}/messages", json={"text": "  "}),
    case(401, "missing bearer token", "GET", "/chat/servers", auth=None),
    case(401, "invalid token", "GET", "/chat/servers", auth="garbage"),
    case(401, "wrong username or password", "POST", "/auth/login", json={"username": "alice", "password": "nope-nope"},
         auth=None),
    case(403, "only an ADMIN can create channels", "POST", "{server}/channels", json={"name": "x"}, auth="bob"),
    case(403, "only a MODERATOR or ADMIN can add members", "POST", "{server}/members", json={"username": "carol"},
         auth="bob"),
    case(404, "not found", "GET", "/nope", auth=None),
    case(404, "not found", "GET", "{server}/nope"),
    case(404, "server not found", "GET", f"/chat/servers/{uuid4()}"),
    case(404, "server not found", "GET", "{server}", auth="carol"),
    case(404, "server_id is not a valid id", "GET", "/chat/servers/42/channels"),
    case(404, "channel not found", "GET", f"{{server}}/channels/{uuid4()}/messages"),
    case(404, "user not found", "POST", "{server}/members", json={"username": "nobody"}),
    case(405, "method not allowed", "PUT", "/chat/servers", json={"name": "x"}),
    case(405, "method not allowed", "GET", "/auth/login", auth=None),
    case(405, "method not allowed", "PUT", "{server}"),
    case(409, "username 'alice' is taken", "POST", "/auth/register",
         json={"username": "alice", "password": "long enough"}, auth=None),
    case(409, "already a member of this server", "POST", "{server}/members", json={"username": "bob"}),
    case(409, "the last ADMIN cannot leave or be demoted; make someone else ADMIN first", "DELETE",
         "{server}/members/{alice}"),
    case(413, "request body is too large", "POST", "{server}/channels/{general}/messages",
         json={"text": "x" * BIG}),
    case(413, "request body is too large", "POST", "/auth/register", data=b"{" + b" " * BIG + b"}",
         headers={"Content-Type": "application/json"}, auth=None),
]


@pytest.mark.parametrize("status, detail, method, path, kwargs", CASES)
async def test_every_error_answers_its_status_with_a_json_detail(
        client, alice, bob, carol, server, add_member, status, detail, method, path, kwargs):
    await add_member(bob)
    people = {"alice": alice, "bob": bob, "carol": carol}
    kwargs = dict(kwargs)
    who = kwargs.pop("auth")
    headers = kwargs.pop("headers", {})
    if who == "garbage":
        headers["Authorization"] = "Bearer garbage"
    elif who is not None:
        headers.update(people[who].auth)
    url = path.format(server=server.url, general=server.general, bob=bob.id, alice=alice.id)

    resp = await client.request(method, url, headers=headers, **kwargs)

    assert resp.status == status
    assert resp.content_type == "application/json"
    assert await resp.json() == {"detail": detail}


async def test_an_unexpected_failure_is_a_500_with_the_request_id_and_nothing_else(
        aiohttp_client, config, db, test_queries, alice, caplog):
    # A real failure, no mock: the app's database connections give up waiting for a lock
    # after 100 ms (asyncpg passes unknown URL parameters on as server settings) while
    # this test holds an exclusive lock on the users table.
    separator = "&" if "?" in config.database_url else "?"
    impatient = replace(config, database_url=f"{config.database_url}{separator}lock_timeout=100ms")
    client = await aiohttp_client(create_app(impatient))
    async with db.transaction():
        await test_queries.lock_users(db)
        resp = await client.get("/auth/me", headers={**alice.auth, "X-Request-Id": "req-42"})
        assert resp.status == 500
        assert resp.content_type == "application/json"
        assert await resp.json() == {"detail": "internal error", "request_id": "req-42"}
        assert resp.headers["X-Request-Id"] == "req-42"

        resp = await client.get("/auth/me", headers=alice.auth)
        body = await resp.json()
        assert body == {"detail": "internal error", "request_id": resp.headers["X-Request-Id"]}
        assert len(body["request_id"]) == 32

    errors = [r for r in caplog.records if r.name == "chatd.web.errors" and r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors][:1] == ["event=unhandled_error request_id=req-42 route=/auth/me"]
    assert all(alice.token not in r.getMessage() for r in caplog.records)
    resp = await client.get("/auth/me", headers=alice.auth)  # the lock is gone: back to normal
    assert resp.status == 200
