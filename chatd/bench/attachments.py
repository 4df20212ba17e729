"""The attachments phase: one large file uploaded to a chatd process of its own and downloaded
again, against copying the same bytes on the same disk in the same run, with the process's
resident memory sampled while the upload streams (an upload is never held whole).

Targets (issue 18): the upload adds at most 16 MiB to chatd's RSS; upload and download each
move at least 0.8x the bytes per second of the copy.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiohttp

from chatd.bench import processes
from chatd.bench.database import Member

RSS_CEILING_MIB = 16.0
MIN_RATIO = 0.8
BLOCK = 1024 * 1024  # the copy's buffer, and the source file's writes


async def measure(database_url: str, secret_key: str, member: Member, size: int, progress) -> dict:
    """`member` uploads `size` bytes into their channel, attaches them, downloads them."""
    with tempfile.TemporaryDirectory(prefix="chatd-bench-files-", dir=os.environ.get("TMPDIR")) as tmp:
        root = Path(tmp)
        source = root / "source.bin"
        await asyncio.to_thread(_write_random, source, size)
        copy_s = await asyncio.to_thread(_copy, source, root / "copy.bin")
        (root / "copy.bin").unlink()
        progress(f"ceiling copy of {size / 2**20:,.0f} MiB on the same disk: {size / 2**20 / copy_s:,.0f} MiB/s")
        server = await processes.chatd(database_url, secret_key, CHATD_UPLOAD_DIR=str(root / "uploads"),
                                       CHATD_MAX_UPLOAD=str(size + BLOCK)).start()
        try:
            auth = {"Authorization": f"Bearer {member.token}"}
            channel = f"{server.url}/chat/servers/{member.server_id}/channels/{member.channel_id}"
            async with aiohttp.ClientSession(headers=auth) as http:
                before = processes.rss_kib(server.pid)
                peak = [before]  # the highest sample
                sampling = asyncio.create_task(_sample_rss(server.pid, peak))
                try:
                    started = time.perf_counter()
                    with source.open("rb") as file:
                        form = aiohttp.FormData()
                        form.add_field("file", file, filename="big.bin")
                        async with http.post(f"{channel}/attachments", data=form) as resp:
                            assert resp.status == 201, await resp.text()
                            uploaded = await resp.json()
                    upload_s = time.perf_counter() - started
                finally:
                    sampling.cancel()
                async with http.post(f"{channel}/messages", json={"attachment_ids": [uploaded["id"]]}) as resp:
                    assert resp.status == 201, await resp.text()
                    url = (await resp.json())["attachments"][0]["url"]
                started = time.perf_counter()
                received = 0
                async with http.get(server.url + url) as resp:
                    assert resp.status == 200, resp.status
                    async for chunk in resp.content.iter_chunked(BLOCK):
                        received += len(chunk)
                download_s = time.perf_counter() - started
                assert received == size, (received, size)
        finally:
            await server.stop()
    grown_mib = (peak[0] - before) / 1024
    result = {
        "size_mib": round(size / 2**20),
        "copy_mib_per_s": round(size / 2**20 / copy_s, 1),
        "upload_mib_per_s": round(size / 2**20 / upload_s, 1),
        "download_mib_per_s": round(size / 2**20 / download_s, 1),
        "upload_ratio": round(copy_s / upload_s, 2),
        "download_ratio": round(copy_s / download_s, 2),
        "rss_growth_mib": round(grown_mib, 1),
        "rss_ceiling_mib": RSS_CEILING_MIB,
        "min_ratio": MIN_RATIO,
    }
    progress(f"upload {result['upload_mib_per_s']:,} MiB/s ({result['upload_ratio']}x the copy), download "
             f"{result['download_mib_per_s']:,} MiB/s ({result['download_ratio']}x), chatd's RSS grew "
             f"{result['rss_growth_mib']} MiB")
    return result


def _write_random(path: Path, size: int) -> None:
    """Incompressible bytes that are not text (the type detection reads them as binary)."""
    block = os.urandom(BLOCK)
    with path.open("wb") as out:
        for offset in range(0, size, BLOCK):
            out.write(block[:min(BLOCK, size - offset)])


def _copy(source: Path, target: Path) -> float:
    """Seconds to copy through user space, as chatd must: read a buffer, write it."""
    started = time.perf_counter()
    with source.open("rb") as src, target.open("wb") as dst:
        while block := src.read(BLOCK):
            dst.write(block)
    return time.perf_counter() - started


async def _sample_rss(pid: int, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], processes.rss_kib(pid))
        await asyncio.sleep(0.01)
