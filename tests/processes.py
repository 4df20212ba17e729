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
