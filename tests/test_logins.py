"""Logins resist guessing and floods: failed logins throttled per username (any case) and per
client address across processes, X-Forwarded-For believed only from a trusted proxy, and
password hashing bounded."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import replace
from ipaddress import ip_network

import aiohttp
import pytest

from chatd import keys
from chatd.app import create_app
from chatd.domain import logins
from chatd.domain.errors import Overloaded
from chatd.domain.passwords import REST_RATIO, Hashing
from conftest import PASSWORD
from processes import ChatdProcess

WRONG_LOGIN = {"detail": "wrong username or password"}
THROTTLED = {"detail": "too many failed logins, retry later"}
WINDOW = 15 * 60


async def login(client, username: str, password: str, **headers: str):
    resp = await client.post("/auth/login", json={"username": username, "password": password}, headers=headers)
    await resp.read()
    return resp


async def fail_earlier(app_queries, db, username: str, address: str, times: int) -> None:
    """`times` failed logins already counted, as chatd counts them (no argon2 work spent)."""
    for _ in range(times):
        await app_queries.record_login_failure(db, username_key=logins.username_key(username),
                                               address_key=logins.address_key(address), window_seconds=WINDOW)


def retry_after(resp) -> int:
    return int(resp.headers["Retry-After"])


async def test_the_eleventh_login_after_ten_failures_is_429_even_with_the_right_password(client, alice):
    for attempt in range(10):
        resp = await login(client, ("alice", "ALICE", "Alice")[attempt % 3], "wrong password")
        assert (resp.status, await resp.json()) == (401, WRONG_LOGIN)

    resp = await login(client, "alice", PASSWORD)

    assert (resp.status, await resp.json()) == (429, THROTTLED)
    assert WINDOW - 60 < retry_after(resp) <= WINDOW


async def test_a_throttled_username_may_log_in_again_once_its_oldest_failure_leaves_the_window(
    client, db, alice, app_queries, test_queries
):
    await fail_earlier(app_queries, db, "alice", "10.1.1.1", 10)
    assert (await login(client, "alice", PASSWORD)).status == 429
    await test_queries.age_login_failures(db, seconds=WINDOW - 30)

    resp = await login(client, "alice", PASSWORD)
    assert resp.status == 429
    assert 25 <= retry_after(resp) <= 31
    await test_queries.age_login_failures(db, seconds=31)
    assert (await login(client, "alice", PASSWORD)).status == 200


async def test_another_username_from_the_same_address_is_unaffected_until_the_address_has_failed_50_times(
    client, db, alice, bob, app_queries
):
    await fail_earlier(app_queries, db, "alice", "127.0.0.1", 10)
    assert (await login(client, "alice", PASSWORD)).status == 429
    assert (await login(client, "bob", PASSWORD)).status == 200

    for i in range(39):  # 10 + 39 failures: the address may fail once more
        await fail_earlier(app_queries, db, f"guess{i}", "127.0.0.1", 1)
    assert (await login(client, "carol", "wrong password")).status == 401

    resp = await login(client, "bob", PASSWORD)
    assert (resp.status, await resp.json()) == (429, THROTTLED)
    assert WINDOW - 60 < retry_after(resp) <= WINDOW


async def test_a_successful_login_clears_the_usernames_failures(client, db, alice, app_queries):
    await fail_earlier(app_queries, db, "alice", "10.1.1.1", 9)
    assert (await login(client, "Alice", PASSWORD)).status == 200

    assert (await login(client, "alice", "wrong password")).status == 401  # the 10th without the clearing
    assert (await login(client, "alice", PASSWORD)).status == 200


async def test_failed_logins_count_across_chatd_processes(client, config, db, alice):
    other = await ChatdProcess(config.database_url, config.secret_key).start()
    try:
        async with aiohttp.ClientSession(other.url) as elsewhere:
            for attempt in range(10):
                resp = await login(client if attempt % 2 else elsewhere, "alice", "wrong password")
                assert resp.status == 401
            here, there = await login(client, "alice", PASSWORD), await login(elsewhere, "alice", PASSWORD)
            assert (here.status, there.status) == (429, 429)
    finally:
        assert await other.stop() == 0


async def test_old_failures_are_swept_as_new_ones_are_counted(client, db, app_queries, test_queries):
    await fail_earlier(app_queries, db, "old", "10.1.1.1", 30)
    await test_queries.age_login_failures(db, seconds=WINDOW + 1)

    assert (await login(client, "nobody", "wrong password")).status == 401

    keys_left = [tuple(row) async for row in test_queries.list_login_failure_keys(db)]
    assert keys_left == [("addr:127.0.0.1", 1), (logins.username_key("nobody"), 1)]


async def test_a_failure_is_counted_by_a_digest_of_the_username_never_the_name(client, db, test_queries):
    await login(client, "my-password-by-mistake", "wrong password")
    assert [key async for key, _ in test_queries.list_login_failure_keys(db)] == [
        "addr:127.0.0.1", logins.username_key("MY-PASSWORD-BY-MISTAKE")]
    assert "mistake" not in logins.username_key("my-password-by-mistake")


# The client address

@pytest.mark.parametrize("forwarded, counted", [
    (None, "127.0.0.1"),
    ("203.0.113.7", "203.0.113.7"),
    ("198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the client wrote the left part: not believed
    ("203.0.113.7, 10.0.0.2", "203.0.113.7"),  # 10.0.0.2 is a trusted proxy in front of chatd's
    ("198.51.100.1, 10.0.0.2, 10.0.0.3", "198.51.100.1"),
    ("garbage, 10.0.0.2", "10.0.0.2"),  # the chain stops at what is not an address
    ("2001:db8::7", "2001:db8::7"),
])
async def test_behind_a_trusted_proxy_the_right_most_untrusted_forwarded_address_is_the_client(
    aiohttp_client, config, db, test_queries, forwarded, counted
):
    trusted = replace(config, trusted_proxies=(ip_network("127.0.0.1/32"), ip_network("10.0.0.0/24")))
    client = await aiohttp_client(create_app(trusted))
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    assert (await login(client, "nobody", "wrong password", **headers)).status == 401
    assert ("addr:" + counted, 1) in [tuple(row) async for row in test_queries.list_login_failure_keys(db)]


async def test_x_forwarded_for_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(client, db, test_queries):
    assert (await login(client, "nobody", "wrong password", **{"X-Forwarded-For": "203.0.113.7"})).status == 401
    assert ("addr:127.0.0.1", 1) in [tuple(row) async for row in test_queries.list_login_failure_keys(db)]


async def test_a_throttled_address_cannot_escape_by_forging_x_forwarded_for(client, db, alice, app_queries):
    await fail_earlier(app_queries, db, "guess", "127.0.0.1", 50)
    resp = await login(client, "alice", PASSWORD, **{"X-Forwarded-For": "203.0.113.7"})
    assert resp.status == 429


# Password hashing is bounded

@pytest.mark.parametrize("path", ["/auth/login", "/auth/register"])
async def test_hashes_beyond_the_threads_and_the_queue_are_refused_with_503_and_retry_after(
    aiohttp_client, config, alice, path
):
    client = await aiohttp_client(create_app(replace(config, hashes_at_once=1, hashes_waiting=1)))
    bodies = [{"username": "alice" if path == "/auth/login" else f"new{i}", "password": PASSWORD}
              for i in range(8)]

    responses = await asyncio.gather(*(client.post(path, json=body) for body in bodies))

    statuses = Counter(resp.status for resp in responses)
    assert set(statuses) == {200 if path == "/auth/login" else 201, 503}
    for resp in responses:
        if resp.status == 503:
            assert await resp.json() == {"detail": "too many logins at once, retry shortly"}
            assert resp.headers["Retry-After"] == "1"


async def test_a_hash_beyond_the_threads_and_the_queue_is_refused_at_once():
    hashing = Hashing(threads=1, waiting=1)
    try:
        running = asyncio.ensure_future(hashing.hash(PASSWORD))
        queued = asyncio.ensure_future(hashing.verify(None, PASSWORD))
        await asyncio.sleep(0)
        with pytest.raises(Overloaded):
            await hashing.verify(None, PASSWORD)
        assert (await running).startswith("$argon2id$")
        assert await queued is False
    finally:
        hashing.close()


async def test_with_every_hashing_slot_taken_a_login_is_refused_before_any_query(
    aiohttp_client, config, db, alice, test_queries
):
    client = await aiohttp_client(create_app(replace(config, hashes_at_once=1, hashes_waiting=0)))
    async with db.transaction():
        await test_queries.lock_login_failures(db)  # a login that reached the throttle check would wait here
        busy = asyncio.ensure_future(client.app[keys.hashing].hash(PASSWORD))
        await asyncio.sleep(0)

        resp = await asyncio.wait_for(login(client, "alice", PASSWORD), timeout=5)

        assert (resp.status, resp.headers["Retry-After"]) == (503, "1")
        await busy


async def test_hashes_run_only_when_nothing_else_wants_the_cpu():
    hashing = Hashing(threads=1, waiting=0)
    try:
        assert await hashing._run(os.sched_getscheduler, 0) == os.SCHED_IDLE  # the hashing thread's own policy
    finally:
        hashing.close()


async def test_a_hashing_thread_with_nothing_waiting_takes_the_next_hash_at_once():
    hashing = Hashing(threads=1, waiting=1)
    try:
        await hashing._run(time.sleep, 0.2)
        started = time.monotonic()
        await hashing._run(time.sleep, 0)
        assert time.monotonic() - started < 0.3  # no rest of REST_RATIO x 0.2 s: nothing waited
    finally:
        hashing.close()


async def test_a_hashing_thread_answers_at_once_then_rests_rest_ratio_times_as_long_as_its_work_took():
    hashing = Hashing(threads=1, waiting=1)
    try:
        started = time.monotonic()
        first = asyncio.ensure_future(hashing._run(time.sleep, 0.2))
        second = asyncio.ensure_future(hashing._run(time.sleep, 0))
        await first
        answered = time.monotonic() - started
        await second
        assert answered < 0.45  # the first caller does not wait for the rest
        assert time.monotonic() - started >= 0.2 * (1 + REST_RATIO)  # the next work waited for the rest
    finally:
        hashing.close()
