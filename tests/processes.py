"""Real `python -m chatd serve` processes for the tests that need several, or a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChatdProcess:
    """One chatd serving on its own port against the given database; its log is kept."""

    def __init__(self, database_url: str, secret_key: str, **settings: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/chat/ws"
        self.env = {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
            "DATABASE_URL": database_url, "SECRET_KEY": secret_key, "CHATD_PORT": str(self.port),
            "CHATD_RATE_LIMIT": "off", **settings,
        }
        self.command = [sys.executable, "-m", "chatd", "serve"]  # or another build of chatd
        self.log: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self, timeout: float = 20.0) -> ChatdProcess:
        self.process = await asyncio.create_subprocess_exec(
            *self.command, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read_log())
        await self.wait_ready(timeout)
        return self

    async def wait_ready(self, timeout: float = 20.0) -> None:
        """Until GET /readyz answers 200 (database and LISTEN both up)."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError("chatd exited:\n" + "\n".join(self.log))
                try:
                    async with http.get(self.url + "/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError("chatd did not become ready:\n" + "\n".join(self.log))
                await asyncio.sleep(0.1)

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as systemd sends it; returns the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._reader
        return code

    async def _read_log(self) -> None:
        async for line in self.process.stderr:
            self.log.append(line.decode(errors="replace").rstrip())


class StalledClient:
    """A WebSocket client on a raw socket that reads nothing (a tiny receive buffer), as a
    phone that went into a tunnel: what chatd sends piles up on chatd's side."""

    def __init__(self, port: int, token: str):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(
            f"GET /chat/ws?token={token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def send_text(self, text: str) -> None:
        """A client frame (clients must mask; an all-zero mask leaves the bytes as they are)."""
        payload = text.encode()
        assert len(payload) < 126
        self.sock.sendall(bytes((0x81, 0x80 | len(payload))) + b"\x00\x00\x00\x00" + payload)

    def read_until_closed(self, timeout: float) -> bytes:
        """Everything chatd sent until it closed the connection (fails by timing out)."""
        self.sock.settimeout(timeout)
        chunks = []
        try:
            while chunk := self.sock.recv(1 << 16):
                chunks.append(chunk)
        finally:
            self.sock.close()
        return b"".join(chunks)
