"""The processes the bench starts and stops: real `python -m chatd serve`, the raw server,
and load-generator workers. Each is a child of the bench and is stopped by it."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import socket
import sys
import time

import aiohttp

START_SECONDS = 30.0  # for /readyz to answer 200
STOP_SECONDS = 15.0  # from SIGTERM to SIGKILL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise LookupError(f"no VmRSS for pid {pid}")


class Served:
    """A child serving HTTP on its own port; the last lines of its log are kept for errors."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int):
        self.argv, self.env = argv, env
        self.url = f"http://127.0.0.1:{port}"
        self.log: collections.deque[str] = collections.deque(maxlen=50)
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> Served:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        self._reader = asyncio.create_task(self._read_log())
        deadline = time.monotonic() + START_SECONDS
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.argv[2]} exited:\n" + "\n".join(self.log))
                try:
                    async with http.get(self.url + "/readyz") as resp:
                        if resp.status == 200:
                            return self
                except aiohttp.ClientConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.argv[2]} did not become ready:\n" + "\n".join(self.log))
                await asyncio.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
        except asyncio.TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        await self._reader
        return code

    async def _read_log(self) -> None:
        async for line in self.process.stderr:
            self.log.append(line.decode(errors="replace").rstrip())


def chatd(database_url: str, secret_key: str, **settings: str) -> Served:
    """chatd as an operator runs it, with rate limits off (a load test is not abuse), behind
    a proxy at 127.0.0.1 (the login flood gives each login its own X-Forwarded-For address),
    importing the same chatd as the bench (PYTHONPATH passed on); `settings` are more CHATD_*
    variables."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "DATABASE_URL": database_url, "SECRET_KEY": secret_key, "CHATD_PORT": str(port),
        "CHATD_RATE_LIMIT": "off", "CHATD_TRUSTED_PROXIES": "127.0.0.1", **settings,
    }
    return Served([sys.executable, "-m", "chatd", "serve"], env, port)


def rawserver() -> Served:
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return Served([sys.executable, "-m", "chatd.bench.rawserver", str(port)], env, port)
