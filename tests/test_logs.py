"""What a real chatd writes to its log after REST and WebSocket traffic: events with request
ids, and never a token, the SECRET_KEY or a password."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal

import aiohttp
import pytest

from tests.conftest import PASSWORD
from tests.processes import ChatdProcess


async def traffic(chatd: ChatdProcess, alice) -> list[str]:
    """Every way a token travels (URL, Authorization, identify frame), a login, a message, a
    refused token. Returns the tokens used."""
    bad_token = alice.token[:-4] + "AAAA"
    async with aiohttp.ClientSession() as http:
        async with http.post(chatd.url + "/auth/login", json={"username": "alice", "password": PASSWORD}) as resp:
            fresh = (await resp.json())["access_token"]
        auth = {"Authorization": f"Bearer {fresh}"}
        async with http.post(chatd.url + "/chat/servers", json={"name": "Guild"}, headers=auth) as resp:
            server_id = (await resp.json())["id"]
        async with http.get(f"{chatd.url}/chat/servers/{server_id}/channels?token={fresh}", headers=auth) as resp:
            channel_id = (await resp.json())[0]["id"]
        async with http.get(chatd.url + "/auth/me", headers={"Authorization": f"Bearer {bad_token}"}) as resp:
            assert resp.status == 401
        async with http.ws_connect(chatd.ws_url, params={"token": alice.token}) as ws:
            assert (await ws.receive_json())["type"] == "connected"
            await ws.send_json({"type": "send_message", "serverId": server_id, "channelId": channel_id,
                                "text": "hello"})
            assert (await ws.receive_json())["type"] == "new_message"
        async with http.ws_connect(chatd.ws_url) as ws:
            await ws.send_json({"type": "identify", "token": fresh})
            assert (await ws.receive_json())["type"] == "connected"
        async with http.ws_connect(chatd.ws_url, params={"token": bad_token}) as ws:
            await ws.receive()
            assert ws.close_code == 4401
    return [alice.token, fresh, bad_token]


@pytest.mark.parametrize("log_format", ["kv", "json"])
async def test_the_log_of_rest_and_websocket_traffic_has_request_ids_and_no_secrets(
        database_url, config, alice, log_format):
    chatd = await ChatdProcess(database_url, config.secret_key, CHATD_LOG_FORMAT=log_format).start()
    try:
        tokens = await traffic(chatd, alice)
    finally:
        assert await chatd.stop() == 0
    log = "\n".join(chatd.log)

    for secret in [*tokens, config.secret_key, PASSWORD]:
        assert secret not in log
    for token in tokens:  # not even its signature: the part that makes it a credential
        assert token.rsplit(".", 1)[1] not in log
    if log_format == "json":
        lines = [json.loads(line) for line in chatd.log]
        access = [line for line in lines if line.get("event") == "http"]
        assert {line["path"] for line in access} >= {"/auth/login", "/chat/servers", "/chat/ws", "/auth/me"}
        assert all(len(line["request_id"]) == 32 for line in access)
        assert [line["url"] for line in lines if line.get("event") == "listening"] == [chatd.url]
    else:
        access = [line for line in chatd.log if " event=http " in line]
        assert len(access) >= 7
        assert all(" level=INFO logger=aiohttp.access event=http method=" in line for line in access)
        assert all(len(line.rsplit(" request_id=", 1)[1]) == 32 for line in access)


async def test_a_stderr_nobody_reads_delays_no_request_and_loses_no_line(database_url, config):
    """Log lines are written by a thread of their own: while nothing reads stderr (journald
    behind, a full pipe) every request is still answered, and once stderr is read again every
    access line is there. Written by the event loop, the first write into the full pipe
    stopped the process."""
    chatd = ChatdProcess(database_url, config.secret_key)
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # full after a few dozen lines
    requests = 300
    try:
        chatd.process = await asyncio.create_subprocess_exec(
            *chatd.command, env=chatd.env, stdout=asyncio.subprocess.DEVNULL, stderr=write_end)
    finally:
        os.close(write_end)
    try:
        await chatd.wait_ready()
        async with aiohttp.ClientSession() as http:
            async def get(n: int) -> int:
                async with http.get(f"{chatd.url}/healthz?n={n}") as resp:
                    return resp.status
            statuses = await asyncio.wait_for(asyncio.gather(*(get(n) for n in range(requests))), 30)
        assert statuses == [200] * requests
    finally:
        chatd.process.send_signal(signal.SIGTERM)
        log = await asyncio.to_thread(_read_to_end, read_end)
        code = await chatd.process.wait()
    assert code == 0
    assert len([line for line in log.splitlines() if "event=http method=GET path=/healthz status=200" in line]) \
        == requests


def _read_to_end(fd: int) -> str:
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode(errors="replace")
