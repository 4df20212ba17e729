"""The single-file build: README's shiv command makes a chatd.pyz that runs with only Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.background import prepared
from tests.processes import ChatdProcess
from tests.zipapp import build_pyz


@pytest.fixture(scope="module")
def pyz() -> Path:
    return prepared(build_pyz)


def test_the_zipapp_prints_its_help_with_only_python(pyz, tmp_path):
    result = subprocess.run([sys.executable, str(pyz), "--help"], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("usage: chatd [-h] COMMAND ...\n")


async def test_the_zipapp_serves_the_test_database_and_stops_on_sigterm(pyz, tmp_path, database_url, config, db):
    chatd = ChatdProcess(database_url, config.secret_key, SHIV_ROOT=str(tmp_path / "shiv"))
    chatd.command = [sys.executable, str(pyz), "serve"]
    await chatd.start(timeout=60)
    try:
        async with aiohttp.ClientSession() as http, http.get(chatd.url + "/readyz") as resp:
            assert (resp.status, await resp.json()) == (200, {"status": "ready"})
        # Its SQL and migrations came from inside the zipapp, unpacked under SHIV_ROOT.
        assert list((tmp_path / "shiv").glob("chatd.pyz_*/site-packages/chatd/sql/monitoring.sql"))
    finally:
        assert await chatd.stop() == 0
