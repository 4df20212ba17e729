"""The orchestrator's side of the load-generator workers (chatd.bench.worker): start them,
spread connections over them, and run trials on all of them at one agreed start time."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import msgspec

START_MARGIN = 0.3  # seconds between the run command and the trial start, so all begin together


class WorkerProcess:
    def __init__(self, name: str):
        self.name = name
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> WorkerProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chatd.bench.worker", self.name,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 30)
        return self

    async def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        self.process.stdin.write(msgspec.json.encode(command) + b"\n")
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator {self.name} exited ({await self.process.wait()})")
        return msgspec.json.decode(line)

    async def stop(self) -> None:
        if self.process.returncode is None:
            try:
                await asyncio.wait_for(self.ask({"cmd": "close"}), 20)
            except (RuntimeError, asyncio.TimeoutError, ConnectionError):
                self.process.kill()
            await self.process.wait()


class LoadGen:
    """N worker processes holding connections between them."""

    def __init__(self, workers: int):
        self.workers = [WorkerProcess(f"w{i}") for i in range(workers)]

    async def __aenter__(self) -> LoadGen:
        await asyncio.gather(*(w.start() for w in self.workers))
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)

    async def connect(self, conns: list[dict[str, Any]], concurrency: int = 100) -> dict[str, float]:
        """Round-robin over workers; returns connections made, failed, and the wall time."""
        started = time.time()
        shares = [conns[i::len(self.workers)] for i in range(len(self.workers))]
        replies = await asyncio.gather(*(
            w.ask({"cmd": "connect", "conns": share, "concurrency": concurrency})
            for w, share in zip(self.workers, shares)))
        return {"ok": sum(r["ok"] for r in replies), "failed": sum(r["failed"] for r in replies),
                "seconds": time.time() - started}

    async def run(self, mode: str, duration: float, rate: float = 0.0, text_bytes: int = 120) -> tuple[float, list[dict]]:
        start_at = time.time() + START_MARGIN
        command = {"cmd": "run", "mode": mode, "duration": duration, "rate": rate, "start_at": start_at,
                   "text_bytes": text_bytes}
        replies = await asyncio.gather(*(w.ask(command) for w in self.workers))
        return start_at, replies

    async def resume(self, channels: dict[str, int]) -> list[dict]:
        """Every authenticated connection resumes `channels` (id -> afterEventSeq) in one frame."""
        return await asyncio.gather(*(w.ask({"cmd": "resume", "channels": channels}) for w in self.workers))

    async def report(self) -> list[dict]:
        return await asyncio.gather(*(w.ask({"cmd": "report"}) for w in self.workers))
