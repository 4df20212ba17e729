"""CORS for the browser front ends listed in CHATD_CORS_ORIGINS (the `config` fixture lists
https://app.example)."""

from __future__ import annotations

import pytest

ORIGIN = "https://app.example"
CORS_HEADERS = {
    "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Access-Control-Max-Age",
}


def cors_headers(resp) -> dict[str, str]:
    return {name: value for name, value in resp.headers.items() if name in CORS_HEADERS}


def listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


@pytest.mark.parametrize("path, method", [
    ("/chat/servers", "POST"),
    ("/chat/servers/8c6f2c4e-0000-4000-8000-000000000000/members/8c6f2c4e-0000-4000-8000-000000000001", "PATCH"),
    ("/auth/login", "POST"),
])
async def test_a_preflight_from_a_listed_origin_is_answered_with_its_exact_origin(client, path, method):
    resp = await client.options(path, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert resp.status == 204
    assert await resp.read() == b""
    headers = cors_headers(resp)
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert {"authorization", "content-type"} <= listed(headers["Access-Control-Allow-Headers"])
    assert method.lower() in listed(headers["Access-Control-Allow-Methods"])
    assert headers["Access-Control-Max-Age"] == "600"
    assert resp.headers["Vary"] == "Origin"


async def test_a_request_from_a_listed_origin_gets_the_cors_headers(client, alice):
    resp = await client.get("/chat/servers", headers={"Origin": ORIGIN, **alice.auth})
    assert resp.status == 200
    assert await resp.json() == []
    assert cors_headers(resp) == {
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": "X-Request-Id, Retry-After, Chatd-Event-Seq",
    }
    assert resp.headers["Vary"] == "Origin"


async def test_an_error_for_a_listed_origin_carries_the_cors_headers_so_the_page_can_read_it(client, db):
    resp = await client.get("/chat/servers", headers={"Origin": ORIGIN})
    assert resp.status == 401
    assert await resp.json() == {"detail": "missing bearer token"}
    assert cors_headers(resp)["Access-Control-Allow-Origin"] == ORIGIN
    assert cors_headers(resp)["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("origin", [
    "https://evil.example", "http://app.example", "https://app.example:8443", "https://APP.example",
    "https://app.example/", "https://app.example.evil.example", "null", "*",
])
async def test_an_unlisted_origin_gets_no_cors_headers(client, alice, origin):
    resp = await client.get("/chat/servers", headers={"Origin": origin, **alice.auth})
    assert resp.status == 200
    assert await resp.json() == []
    assert cors_headers(resp) == {}

    resp = await client.options("/chat/servers", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization",
    })
    assert resp.status == 405
    assert await resp.json() == {"detail": "method not allowed"}
    assert cors_headers(resp) == {}


async def test_a_request_without_an_origin_gets_no_cors_headers(client, alice):
    resp = await client.get("/chat/servers", headers=alice.auth)
    assert resp.status == 200
    assert cors_headers(resp) == {}
    assert "Vary" not in resp.headers
