"""chatd.service passes systemd's own checks, and chatd speaks sd_notify to a real socket."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

from tests.processes import ChatdProcess

UNIT = Path(__file__).resolve().parent.parent / "chatd.service"
INSTALLED_CHATD = "/opt/chatd/bin/chatd"


def test_the_unit_rates_an_exposure_of_at_most_1_5():
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(UNIT)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [score] = re.findall(r"Overall exposure level for chatd\.service: (\d+\.\d+)", result.stdout)
    assert float(score) <= 1.5


def test_the_unit_verifies_without_a_warning(tmp_path):
    """verify also checks that ExecStart exists: here it points at this venv's chatd instead
    of the /opt/chatd one the README installs, and nothing else changes."""
    text = UNIT.read_text()
    assert text.count(f"ExecStart={INSTALLED_CHATD} serve\n") == 1
    unit = tmp_path / "chatd.service"
    unit.write_text(text.replace(INSTALLED_CHATD, str(Path(sys.executable).with_name("chatd"))))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


async def datagrams_until(sock: socket.socket, wanted: str, timeout: float = 20.0) -> list[str]:
    """The datagrams that arrive up to and including `wanted`."""
    got: list[str] = []
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        while wanted not in got:
            got.append((await loop.sock_recv(sock, 4096)).decode())
    return got


async def test_chatd_sends_ready_watchdog_pings_and_stopping_on_a_notify_socket(database_url, config, db):
    name = f"@chatd-test-{uuid.uuid4().hex}"  # abstract namespace: no path length or cleanup
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name[1:])
        sock.setblocking(False)
        chatd = ChatdProcess(database_url, config.secret_key, NOTIFY_SOCKET=name, WATCHDOG_USEC="200000")
        await chatd.start()
        try:
            until_ready = await datagrams_until(sock, "READY=1")
            next_one = await datagrams_until(sock, "WATCHDOG=1")  # every 0.1 s: half of WATCHDOG_USEC
        finally:
            assert await chatd.stop() == 0
        until_stopping = await datagrams_until(sock, "STOPPING=1")

    assert until_ready[-1] == "READY=1" and set(until_ready[:-1]) <= {"WATCHDOG=1"}
    assert next_one == ["WATCHDOG=1"]
    assert until_stopping[-1] == "STOPPING=1" and set(until_stopping[:-1]) <= {"WATCHDOG=1"}
