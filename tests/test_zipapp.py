"""The single-file build: README's shiv command makes a chatd.pyz that runs with only Python."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
import pytest

from tests.background import prepared
from tests.processes import ChatdProcess

ROOT = Path(__file__).resolve().parent.parent
SHIV = Path(sys.executable).with_name("shiv")  # installed by the `test` extra
SOURCES = ["chatd", "sql", "migrations", "static", "setup.cfg", "pyproject.toml", "README.md"]


def readme_build_command() -> str:
    [line] = [line for line in (ROOT / "README.md").read_text().splitlines() if " shiv " in line]
    return line.strip()


def build_pyz() -> Path:
    """One build, from a copy of the sources (a stale build/ in the checkout cannot leak in),
    by the README's own command, in a directory removed when the session ends. Started early
    (tests/background.py): it takes most of a minute."""
    tree = Path(tempfile.mkdtemp(prefix="chatd-pyz-"))
    atexit.register(shutil.rmtree, tree, True)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tree / name)
    command = readme_build_command().replace("shiv ", f"{SHIV} ", 1)
    subprocess.run(command, shell=True, cwd=tree, check=True, capture_output=True, timeout=300,
                   env={"PATH": f"{SHIV.parent}:/usr/bin:/bin", "HOME": str(tree)})
    return tree / "dist" / "chatd.pyz"


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
