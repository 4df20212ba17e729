"""The attachments phase: one large file uploaded to a chatd process of its own and downloaded
again, against copying the same bytes on the same disk in the same run, with the process's
resident memory sampled while the upload streams (an upload is never held whole).

Targets (issue 18): the upload adds at most 16 MiB to chatd's RSS; upload and download each
move at least 0.8x the bytes per second of the copy (medians of trials, each against its own copy).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from statistics import median

import aiohttp

from chatd.bench import processes
from chatd.bench.database import Member

RSS_CEILING_MIB = 16.0
MIN_RATIO = 0.8
BLOCK = 1024 * 1024  # the copy's buffer, and the source file's writes


async def measure(database_url: str, secret_key: str, member: Member, size: int, trials: int, progress) -> dict:
    """`member` uploads `size` bytes into their channel, attaches them, downloads them; `trials`
    times, each after a copy of the same bytes (the copy's speed moves with the page cache and
    the disk's writeback, so each trial's ratios are to the copy just before it, and the figures
    are the medians)."""
    with tempfile.TemporaryDirectory(prefix="chatd-bench-files-", dir=os.environ.get("TMPDIR")) as tmp:
        root = Path(tmp)
        source = root / "source.bin"
        await asyncio.to_thread(_write_random, source, size)
        server = await processes.chatd(database_url, secret_key, CHATD_UPLOAD_DIR=str(root / "uploads"),
                                       CHATD_MAX_UPLOAD=str(size + BLOCK)).start()
        runs = []
        try:
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {member.token}"}) as http:
                before = processes.rss_kib(server.pid)
                peak = [before]  # the highest sample
                for _ in range(trials):
                    copy_s = await asyncio.to_thread(_copy, source, root / "copy.bin")
                    (root / "copy.bin").unlink()
                    upload_s, download_s = await _upload_and_download(http, server, member, source, size, peak)
                    await asyncio.to_thread(shutil.rmtree, root / "uploads")  # each trial on an empty directory
                    runs.append((copy_s, upload_s, download_s))
                    progress(f"  copy {size / 2**20 / copy_s:,.0f} MiB/s, upload {size / 2**20 / upload_s:,.0f} MiB/s, "
                             f"download {size / 2**20 / download_s:,.0f} MiB/s")
        finally:
            await server.stop()
    grown_mib = (peak[0] - before) / 1024

    def mib_per_s(seconds) -> float:
        return round(size / 2**20 / median(seconds), 1)

    result = {
        "size_mib": round(size / 2**20),
        "trials": trials,
        "copy_mib_per_s": mib_per_s(c for c, _, _ in runs),
        "upload_mib_per_s": mib_per_s(u for _, u, _ in runs),
        "download_mib_per_s": mib_per_s(d for _, _, d in runs),
        "upload_ratio": round(median(c / u for c, u, _ in runs), 2),
        "download_ratio": round(median(c / d for c, _, d in runs), 2),
        "rss_growth_mib": round(grown_mib, 1),
        "rss_ceiling_mib": RSS_CEILING_MIB,
        "min_ratio": MIN_RATIO,
    }
    progress(f"upload {result['upload_mib_per_s']:,} MiB/s ({result['upload_ratio']}x the copy), download "
             f"{result['download_mib_per_s']:,} MiB/s ({result['download_ratio']}x), chatd's RSS grew "
             f"{result['rss_growth_mib']} MiB (medians of {trials})")
    return result


async def _upload_and_download(http: aiohttp.ClientSession, server, member: Member, source: Path, size: int,
                               peak: list[int]) -> tuple[float, float]:
    """Seconds to upload the file (chatd's RSS sampled meanwhile into `peak`) and to download it."""
    channel = f"{server.url}/chat/servers/{member.server_id}/channels/{member.channel_id}"
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
    return upload_s, download_s


def _write_random(path: Path, size: int) -> None:
    """Incompressible bytes that are not text (the type detection reads them as binary)."""
    block = os.urandom(BLOCK)
    with path.open("wb") as out:
        for offset in range(0, size, BLOCK):
            out.write(block[:min(BLOCK, size - offset)])


def _copy(source: Path, target: Path) -> float:
    """Seconds to copy through user space, as chatd must (read a buffer, write it), until the
    copy is on the disk, as chatd's upload is before it is answered."""
    started = time.perf_counter()
    with source.open("rb") as src, target.open("wb") as dst:
        while block := src.read(BLOCK):
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    return time.perf_counter() - started


async def _sample_rss(pid: int, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], processes.rss_kib(pid))
        await asyncio.sleep(0.01)
