"""The raw fan-out ceiling: `python -m chatd.bench.rawserver PORT`, a bare aiohttp WebSocket
server (uvloop, like chatd) with no chatd code, that sends one pre-serialized ~200-byte frame
to every connected client on request. What chatd's fan-out is compared against."""

from __future__ import annotations

import sys
import time

import uvloop
from aiohttp import WSMsgType, web

from chatd.config import LISTEN_BACKLOG

FRAME = (b'{"type":"raw","id":"00000000-0000-0000-0000-000000000000","user":"bench","text":"'
         + b"x" * 110 + b'","seq":1}')

clients_key = web.AppKey("clients", set)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30.0)
    await ws.prepare(request)
    request.app[clients_key].add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        request.app[clients_key].discard(ws)
    return ws


async def blast(request: web.Request) -> web.Response:
    """Send FRAME `rounds` times to every client, serially, awaiting each write as aiohttp does."""
    rounds = int(request.query.get("rounds", "1"))
    clients = list(request.app[clients_key])
    started = time.time()
    for _ in range(rounds):
        for ws in clients:
            await ws.send_frame(FRAME, WSMsgType.TEXT)
    return web.json_response({"clients": len(clients), "rounds": rounds, "seconds": time.time() - started})


async def ready(request: web.Request) -> web.Response:
    return web.json_response({"clients": len(request.app[clients_key])})


def main() -> None:
    app = web.Application()
    app[clients_key] = set()
    app.router.add_get("/ws", websocket)
    app.router.add_post("/blast", blast)
    app.router.add_get("/readyz", ready)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), loop=uvloop.new_event_loop(),
                print=None, access_log=None, backlog=LISTEN_BACKLOG)


if __name__ == "__main__":
    main()
