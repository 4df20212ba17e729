"""The sd_notify protocol, by hand: one datagram to $NOTIFY_SOCKET per state change, so
systemd knows when chatd is serving (Type=notify), stopping, and still alive (WatchdogSec)."""

from __future__ import annotations

import asyncio
import logging
import socket

from aiohttp import web

from chatd import keys
from chatd.ops.tasks import cancel_and_wait

log = logging.getLogger(__name__)


def notify(socket_path: str | None, state: str) -> None:
    """Send `state` ("READY=1", ...); a no-op outside systemd. `@` names an abstract socket."""
    if not socket_path:
        return
    address = "\0" + socket_path[1:] if socket_path.startswith("@") else socket_path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as error:  # systemd gone or restarting: not a reason to stop serving
        log.warning("event=sd_notify_failed state=%s error=%s", state.split("=")[0], type(error).__name__)


async def watchdog_ctx(app: web.Application):
    """cleanup_ctx: WATCHDOG=1 every half WatchdogSec, from the event loop, so a loop that
    hangs gets the service restarted."""
    config = app[keys.config]
    task = None
    if config.notify_socket and config.watchdog_usec:
        task = asyncio.create_task(_ping(config.notify_socket, config.watchdog_usec / 2_000_000))
    yield
    await cancel_and_wait(task)


async def _ping(socket_path: str, interval: float) -> None:
    while True:
        notify(socket_path, "WATCHDOG=1")
        await asyncio.sleep(interval)


async def notify_stopping(app: web.Application) -> None:
    """on_shutdown: systemd shows the unit as deactivating while sockets and the pool close."""
    notify(app[keys.config].notify_socket, "STOPPING=1")
