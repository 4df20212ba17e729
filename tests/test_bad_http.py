"""Malformed HTTP is the peer's error, not chatd's: answered 400 as aiohttp answers it, and
logged as one INFO line naming the peer and the kind of error, with no traceback and none of
the bytes sent (raw sockets against a real chatd, whose CLI sets up its logging)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.processes import ChatdProcess

SECRET = b"a-token-that-must-not-be-logged"
BAD_REQUESTS = [
    pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + SECRET + b"\x00\r\n\r\n",
                 "BadHttpMessage", id="NUL in a header"),
    pytest.param(b"HELLO " + SECRET + b"\r\n\r\n", "BadHttpMethod", id="garbage request line"),
    pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + SECRET * 1000 + b"\r\n\r\n", "LineTooLong",
                 id="oversized header"),
]


def exchange(port: int, request: bytes) -> bytes:
    """What chatd answers to these bytes, up to its closing the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
async def chatd(database_url, config, db):
    chatd = await ChatdProcess(database_url, config.secret_key).start()
    yield chatd
    if chatd.process.returncode is None:
        await chatd.stop()


@pytest.mark.parametrize("request_bytes, error", BAD_REQUESTS)
async def test_a_malformed_request_is_a_400_and_one_info_line_without_a_traceback(
        chatd, request_bytes, error):
    answer = await asyncio.to_thread(exchange, chatd.port, request_bytes)
    assert answer.split(b"\r\n", 1)[0].split(b" ", 1)[1] == b"400 Bad Request"
    assert await chatd.stop() == 0  # its log is complete
    assert [line.split(" level=", 1)[1] for line in chatd.log if "logger=aiohttp.server" in line] == [
        f"INFO logger=aiohttp.server event=bad_http_request peer=127.0.0.1 error={error}"]
    assert not [line for line in chatd.log if "Traceback" in line or "level=ERROR" in line]
    assert not [line for line in chatd.log if SECRET.decode() in line]
