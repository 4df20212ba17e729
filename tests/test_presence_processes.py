"""Presence across real chatd processes on one database: one frame per socket wherever it is,
a reconnect to another process within the grace, and a process that dies."""

from __future__ import annotations

import asyncio
import signal
import time

from tests.processes import StalledClient
from test_gateway_processes import make_server, ws_connect
from test_presence import shown

GRACE = "3s"  # CHATD_PRESENCE_GRACE: short, so waiting it out takes seconds, not tens of them


async def updates_of(ws, person, wait: float) -> list[str]:
    """The statuses of every presence_update about `person` within `wait` seconds."""
    got = []
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = await ws.receive_json(timeout=left)
        except asyncio.TimeoutError:
            break
        if event["type"] == "presence_update" and event["userId"] == str(person.id):
            got.append(event["status"])
    return got


async def first_update_of(ws, person, timeout: float) -> tuple[str, float]:
    """The status of the next presence_update about `person`, and when it came."""
    deadline = time.monotonic() + timeout
    while True:
        event = await ws.receive_json(timeout=max(0.01, deadline - time.monotonic()))
        if event["type"] == "presence_update" and event["userId"] == str(person.id):
            return event["status"], time.monotonic()


async def test_each_socket_on_either_process_gets_one_frame_per_change(start, http, db, alice, bob, carol):
    one, two = await start(), await start()
    for _ in range(3):
        await make_server(http, one, alice, bob)
    await make_server(http, two, carol)
    alices = [await ws_connect(http, one, alice), await ws_connect(http, one, alice), await ws_connect(http, two, alice)]
    watcher = await ws_connect(http, two, carol)
    b = await ws_connect(http, two, bob)
    await shown(db, bob, "online")
    for status in ("idle", "dnd", "invisible", "online"):
        await b.send_json({"type": "presence_update", "status": status})
    seen = await asyncio.gather(*(updates_of(ws, bob, 3) for ws in alices))
    assert seen == [["online", "idle", "dnd", "offline", "online"]] * 3
    assert await updates_of(watcher, bob, 0.1) == []


async def test_a_reconnect_to_another_process_within_the_grace_shows_no_offline_and_online(start, http, alice, bob):
    one, two = await start(CHATD_PRESENCE_GRACE=GRACE), await start(CHATD_PRESENCE_GRACE=GRACE)
    await make_server(http, one, alice, bob)
    a = await ws_connect(http, two, alice)
    b = await ws_connect(http, one, bob)
    assert (await first_update_of(a, bob, 5))[0] == "online"
    await b.close()
    await asyncio.sleep(1)
    b = await ws_connect(http, two, bob)
    assert await updates_of(a, bob, 4) == []  # past process one's grace, and bob is still online
    await b.close()
    closed = time.monotonic()
    status, when = await first_update_of(a, bob, 15)
    assert status == "offline" and 2.5 < when - closed < 5


async def test_the_users_of_a_process_that_dies_turn_offline_within_the_bound(start, http, alice, bob):
    # The bound: one's row goes unrefreshed for max(2 × interval, interval + grace) = 4 s and a
    # live process notices at its next beat, so max(3 × interval, 2 × interval + grace) = 5 s
    # here (12 s with the default grace), well inside two heartbeats plus a node interval (21 s).
    settings = {"CHATD_HEARTBEAT": "10", "CHATD_NODE_INTERVAL": "1", "CHATD_PRESENCE_GRACE": GRACE}
    one, two = await start(**settings), await start(**settings)
    await make_server(http, one, alice, bob)
    a = await ws_connect(http, two, alice)
    b = await ws_connect(http, one, bob)
    assert (await first_update_of(a, bob, 5))[0] == "online"
    one.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    await one.process.wait()
    status, when = await first_update_of(a, bob, 15)
    assert status == "offline"
    assert 2.5 < when - killed < 7  # a second of slack for a busy machine
    await b.close()


async def test_the_users_of_a_process_that_stops_stay_online_for_the_grace(start, http, alice, bob):
    settings = {"CHATD_NODE_INTERVAL": "1", "CHATD_PRESENCE_GRACE": GRACE}
    one, two = await start(**settings), await start(**settings)
    await make_server(http, one, alice, bob)
    a = await ws_connect(http, two, alice)
    b = await ws_connect(http, one, bob)
    assert (await first_update_of(a, bob, 5))[0] == "online"
    await one.stop()
    stopped = time.monotonic()
    status, when = await first_update_of(a, bob, 15)
    assert status == "offline" and 2.5 < when - stopped < 6
    await b.close()


async def test_a_socket_too_slow_for_presence_updates_is_closed_not_waited_for(start, http, alice, make_user):
    chatd = await start(CHATD_SEND_QUEUE="10")
    changers = [await make_user(f"changer{i}") for i in range(25)]
    staller = await make_user("staller")
    await make_server(http, chatd, alice, staller, *changers)
    sockets = [await ws_connect(http, chatd, person) for person in changers]
    stalled = StalledClient(chatd.port, staller.token)

    async def change(ws, person, times: int) -> None:
        for i in range(times):
            await ws.send_json({"type": "presence_update", "status": ("idle", "online")[i % 2]})
            while (await first_update_of(ws, person, 10))[0] != ("idle", "online")[i % 2]:
                pass

    started = time.monotonic()
    await asyncio.gather(*(change(ws, person, 200) for ws, person in zip(sockets, changers)))
    print(f"5,000 status changes in {time.monotonic() - started:.1f} s beside a socket that never reads")
    assert any("event=slow_consumer" in line for line in chatd.log)
    received = stalled.read_until_closed(timeout=15)
    assert received.endswith(b"\x88\x23\x0f\xa8slow consumer: resume to catch up")  # close frame, 4008
