"""The database going away is an expected condition: REST answers 503 with Retry-After, the
gateway an `error` event with retryAfter, the log says once that it went and once that it is
back, never with a traceback; and a client that resends what was not acknowledged (same
nonce) ends with every message stored exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
import warnings
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest

from chatd import keys
from chatd.app import create_app
from chatd.config import Config
from chatd.domain.schemas import User
from chatd.domain.tokens import issue_token
from chatd.store import notify
from chatd.store.migrations import apply_migrations
from chatd.store.pool import ConnectFailed, unavailable
from tests.processes import ChatdProcess
from tests.test_gateway import connect, gateway_queries, next_event, send
from tests.test_health_metrics import scrape

UNAVAILABLE = "database unavailable, retry shortly"
AVAILABILITY = "chatd.store.availability"


def lost_connection() -> ConnectFailed:
    """What chatd's pool raises when it cannot connect: the OSError is its cause."""
    error = ConnectFailed("ConnectionRefusedError: [Errno 111] Connection refused")
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return error


@pytest.mark.parametrize("error, expected", [
    (lost_connection(), True),
    (asyncpg.CannotConnectNowError("the database system is shutting down"), True),
    (asyncpg.CannotConnectNowError("the database system is starting up"), True),
    (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
    (asyncpg.TooManyConnectionsError("sorry, too many clients already"), True),
    (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"), True),
    (asyncpg.InterfaceError("connection is closed"), True),
    (asyncpg.InterfaceError("cannot perform operation: connection is closed"), True),
    # What a transaction's exit raises when its connection was lost, in place of what failed inside.
    (asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the underlying connection is closed"), True),
    # A statement on a pooled connection that has read PostgreSQL's FATAL, not yet its close.
    (asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"), True),
    (asyncpg.UniqueViolationError("duplicate key value violates unique constraint"), False),
    (asyncpg.LockNotAvailableError("canceling statement due to lock timeout"), False),
    (asyncpg.InterfaceError("the server expects 2 arguments for this query, 1 was passed"), False),
    # chatd's own misuse of a connection: two statements at once, a statement after its release.
    (asyncpg.InterfaceError("cannot perform operation: another operation is in progress"), False),
    (asyncpg.InterfaceError("cannot call Connection.fetch(): connection has been released back to the pool"), False),
    (asyncpg.InternalClientError("no decoder for OID 16384"), False),
    (ConnectionResetError("Connection lost"), False),  # a client hanging up mid-body, not the database
    (ValueError("a bug"), False),
], ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value))
def test_only_failures_of_the_database_itself_count_as_unavailable(error, expected):
    assert unavailable(error) is expected


async def terminate_when_waiting(db, test_queries, ended: list[int] | None = None) -> None:
    """End the backend of the request queued behind the test's lock: its connection is lost
    in the middle of the query, as when PostgreSQL shuts down. `ended` collects the backends
    ended so far (one may still be waiting on the lock as it exits)."""
    ended = [] if ended is None else ended
    deadline = time.monotonic() + 5
    while not (pids := [row["pid"] async for row in test_queries.terminate_lock_waiters(db, ended=ended)]):
        assert time.monotonic() < deadline, "no request waited on the lock"
        await asyncio.sleep(0.02)
    ended.extend(pids)


async def outage_log(caplog, timeout: float = 5.0) -> list[tuple[str, str]]:
    """chatd.store.availability's lines, once the outage is logged as over."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == AVAILABILITY]
        if any("database_available" in message for _, message in lines) or time.monotonic() > deadline:
            return lines
        await asyncio.sleep(0.05)


async def logged_one_outage(caplog, error: str) -> None:
    """The outage was logged as one WARNING naming `error` and one INFO when it ended, and
    nothing was logged as an error or with a traceback."""
    assert back(await outage_log(caplog)) == [
        ("WARNING", f"event=database_unavailable error={error}"),
        ("INFO", "event=database_available down_seconds=N"),
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def back(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The recovery line with its duration replaced, so the rest compares exactly."""
    return [(level, re.sub(r"down_seconds=\d+\.\d", "down_seconds=N", message)) for level, message in lines]


async def test_a_request_whose_database_connection_is_lost_is_a_503_with_retry_after_and_one_outage_logged(
        client, db, test_queries, alice, caplog):
    caplog.set_level(logging.INFO, logger=AVAILABILITY)
    async with db.transaction():
        await test_queries.lock_users(db)
        pending = asyncio.create_task(client.get("/auth/me", headers=alice.auth))
        await terminate_when_waiting(db, test_queries)
        resp = await pending
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "1"
    assert await resp.json() == {"detail": UNAVAILABLE}
    assert (await client.get("/auth/me", headers=alice.auth)).status == 200
    await logged_one_outage(caplog, "AdminShutdownError")
    metrics = await scrape(client)
    assert metrics[("chatd_database_unavailable_refusals_total", (("transport", "rest"),))] == 1
    assert metrics[("chatd_database_unavailable_refusals_total", (("transport", "ws"),))] == 0


async def test_a_send_whose_database_connection_is_lost_is_an_error_event_with_retry_after_and_the_resend_stores_it_once(
        client, db, test_queries, alice, server, caplog):
    caplog.set_level(logging.INFO, logger=AVAILABILITY)
    a = await connect(client, alice)
    async with db.transaction():
        await gateway_queries.lock_channels(db)
        await a.send_json(send(server, "through the outage", nonce="n-1"))
        await terminate_when_waiting(db, test_queries)
        assert await next_event(a, "error") == {
            "type": "error", "message": UNAVAILABLE, "retryAfter": 1, "nonce": "n-1"}
    await a.send_json(send(server, "through the outage", nonce="n-1"))  # the socket stayed open
    assert (await next_event(a, "new_message"))["nonce"] == "n-1"
    stored = {row["text"]: row["n"] async for row in test_queries.count_messages_by_text(db)}
    assert stored == {"through the outage": 1}
    await logged_one_outage(caplog, "AdminShutdownError")
    assert (await scrape(client))[("chatd_database_unavailable_refusals_total", (("transport", "ws"),))] == 1


async def test_a_batch_whose_connection_is_lost_answers_each_sender_at_once_instead_of_retrying_each_message(
        client, db, test_queries, alice, bob, server, add_member):
    await add_member(bob)
    # A socket's frames are handled one after another: a batch is made of several sockets' sends.
    first, second, third = await connect(client, alice), await connect(client, alice), await connect(client, bob)
    outage = {"type": "error", "message": UNAVAILABLE, "retryAfter": 1}
    async with db.transaction():
        await gateway_queries.lock_channels(db)
        await first.send_json(send(server, "first", nonce="a-1"))  # a batch of its own, waiting on the lock
        while not await test_queries.count_lock_waiters(db):
            await asyncio.sleep(0.02)
        await second.send_json(send(server, "second", nonce="a-2"))  # these two form the next batch
        await third.send_json(send(server, "third", nonce="b-1"))
        await asyncio.sleep(0.3)
        ended: list[int] = []
        await terminate_when_waiting(db, test_queries, ended)
        assert await next_event(first, "error") == {**outage, "nonce": "a-1"}
        await terminate_when_waiting(db, test_queries, ended)
        # Retried one message at a time, "second" would wait on the lock again.
        assert await next_event(second, "error", timeout=2) == {**outage, "nonce": "a-2"}
        assert await next_event(third, "error", timeout=2) == {**outage, "nonce": "b-1"}
    assert [row async for row in test_queries.count_messages_by_text(db)] == []


async def test_a_change_whose_connection_is_lost_inside_its_transaction_is_a_503_with_retry_after(
        client, db, test_queries, alice, server, caplog):
    """Leaving the transaction, asyncpg finds the connection closed and raises an InterfaceError
    of its own in place of what failed inside."""
    caplog.set_level(logging.INFO, logger=AVAILABILITY)
    async with db.transaction():
        await test_queries.hold_server_row(db, server_id=server.id)  # the creation waits in its transaction
        pending = asyncio.create_task(client.post(f"{server.url}/channels", json={"name": "late"}, headers=alice.auth))
        await terminate_when_waiting(db, test_queries)
        resp = await pending
    assert (resp.status, resp.headers.get("Retry-After")) == (503, "1")
    assert await resp.json() == {"detail": UNAVAILABLE}
    await logged_one_outage(caplog, "InterfaceError")


RELAYED = "chatd-relayed"  # the application_name of the sessions chatd opens through HeldClose


class HeldClose:
    """A TCP relay to the test database that passes every byte on at once but, while held, keeps
    chatd's end of a connection open after PostgreSQL closed its own: the gap between a session's
    FATAL error and its close that a loaded machine opens, made as long as a test needs."""

    def __init__(self, database_url: str):
        self._dsn = urlsplit(database_url)
        query = parse_qs(self._dsn.query)
        host, port = query.pop("host", [self._dsn.hostname or "localhost"])[0], self._dsn.port or 5432
        self._connect = (functools.partial(asyncio.open_unix_connection, f"{host}/.s.PGSQL.{port}")
                         if host.startswith("/") else functools.partial(asyncio.open_connection, host, port))
        self._query = {**{name: values[0] for name, values in query.items()}, "application_name": RELAYED}
        self._release: asyncio.Event | None = None
        self.closed_by_postgres = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self) -> HeldClose:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        user = self._dsn.netloc.rpartition("@")[0]
        address = "127.0.0.1:%d" % self._server.sockets[0].getsockname()[1]
        return urlunsplit((self._dsn.scheme, f"{user}@{address}" if user else address, self._dsn.path,
                           urlencode(self._query), ""))

    @contextlib.asynccontextmanager
    async def holding(self):
        self._release = asyncio.Event()
        try:
            yield
        finally:
            self._release.set()
            self._release = None

    async def _relay(self, from_chatd: asyncio.StreamReader, to_chatd: asyncio.StreamWriter) -> None:
        from_postgres, to_postgres = await self._connect()
        await asyncio.gather(self._pipe(from_chatd, to_postgres), self._pipe(from_postgres, to_chatd, held=True))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, held: bool = False) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        if held and self._release is not None:
            self.closed_by_postgres.set()
            await self._release.wait()
        writer.close()


@pytest.fixture
async def relay(database_url):
    relay = await HeldClose(database_url).start()
    yield relay
    await relay.stop()


@pytest.fixture
def relayed_client(relay, aiohttp_client, config, db):
    """Starts chatd reaching PostgreSQL through the relay (set up first, so it outlives the app);
    no node beat uses the pool meanwhile."""
    return lambda: aiohttp_client(create_app(replace(config, database_url=relay.url, node_interval_seconds=3600)))


async def test_a_statement_on_a_connection_postgresql_ended_while_it_was_idle_is_a_503_with_retry_after(
        relayed_client, relay, db, test_queries, alice, caplog):
    """PostgreSQL shutting down sends each session a FATAL error, then closes it. On a loaded
    machine chatd can read the one and start a statement on that pooled connection before it
    reads the other: asyncpg refuses the statement with an InternalClientError of its own."""
    caplog.set_level(logging.INFO, logger=AVAILABILITY)
    client = await relayed_client()
    assert (await client.get("/auth/me", headers=alice.auth)).status == 200  # the pool's connection, idle now
    async with relay.holding():
        assert [row async for row in test_queries.terminate_sessions_of(db, application_name=RELAYED)]
        await asyncio.wait_for(relay.closed_by_postgres.wait(), 5)
        await asyncio.sleep(0.1)  # chatd reads the FATAL error
        resp = await client.get("/auth/me", headers=alice.auth)
    assert (resp.status, resp.headers.get("Retry-After")) == (503, "1")
    assert await resp.json() == {"detail": UNAVAILABLE}
    assert (await client.get("/auth/me", headers=alice.auth)).status == 200
    await logged_one_outage(caplog, "InternalClientError")


async def test_the_listener_reconnects_after_a_ping_on_a_connection_postgresql_ended(
        relayed_client, relay, db, test_queries, monkeypatch, caplog):
    """The same InternalClientError, met by the LISTEN connection's ping, must not end the listener."""
    caplog.set_level(logging.INFO, logger="chatd.store.notify")
    monkeypatch.setattr(notify, "PING_SECONDS", 0.1)
    bus = (await relayed_client()).app[keys.notes]
    async with relay.holding():
        assert [row async for row in test_queries.terminate_sessions_of(db, application_name="chatd-listener")]
        await asyncio.wait_for(relay.closed_by_postgres.wait(), 5)
        await asyncio.sleep(0.5)  # pings on the connection that has read the FATAL error
    deadline = time.monotonic() + 5
    while not bus.ready:
        assert time.monotonic() < deadline, "the listener did not reconnect"
        await asyncio.sleep(0.05)
    assert ("WARNING", "event=listen_lost error=InternalClientError") in [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == "chatd.store.notify"]


async def test_asyncpg_pool_reconnect_failures_feed_the_outage_instead_of_printing_a_traceback(client, caplog):
    caplog.set_level(logging.INFO)
    try:
        raise lost_connection()
    except ConnectFailed:  # as asyncpg's pool logs a failed attempt to restore its minimum size
        logging.getLogger("asyncpg.pool").warning("Failed to restore the pool connection floor; retrying",
                                                  exc_info=True)
    assert not [r for r in caplog.records if r.name == "asyncpg.pool"]
    assert back(await outage_log(caplog)) == [
        ("WARNING", "event=database_unavailable error=ConnectionRefusedError"),
        ("INFO", "event=database_available down_seconds=N"),
    ]
    assert client.app[keys.availability].probe is None


# A real PostgreSQL restart under traffic: its own server, stopped (fast shutdown) and started
# again on the same socket while one client posts over REST and another sends over WebSocket.


def start_postgres(path):
    import pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pgserver.get_server(path, cleanup_mode="stop")


class Sender:
    """A client that sends numbered messages, each with its text as nonce, and resends one until
    it is acknowledged; it checks every answer short of that is the outage's."""

    def __init__(self, name: str):
        self.name, self.acknowledged, self.refusals = name, [], 0

    async def run(self, until: asyncio.Event) -> None:
        while not until.is_set():
            text = f"{self.name} {len(self.acknowledged)}"
            while not await self.send(text):
                self.refusals += 1
                await asyncio.sleep(0.25)
            self.acknowledged.append(text)
            await asyncio.sleep(0.05)


class RestSender(Sender):
    def __init__(self, http: aiohttp.ClientSession, url: str, auth: dict[str, str]):
        super().__init__("rest")
        self.http, self.url, self.auth = http, url, auth

    async def send(self, text: str) -> bool:
        async with self.http.post(self.url, json={"text": text, "nonce": text}, headers=self.auth) as resp:
            if resp.status == 201:
                return True
            assert (resp.status, resp.headers.get("Retry-After")) == (503, "1"), await resp.text()
            assert await resp.json() == {"detail": UNAVAILABLE}
            return False


class WsSender(Sender):
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, server_id: str, channel_id: str):
        super().__init__("ws")
        self.ws, self.frame = ws, {"type": "send_message", "serverId": server_id, "channelId": channel_id}

    async def send(self, text: str) -> bool:
        await self.ws.send_json({**self.frame, "text": text, "nonce": text})
        while True:  # other events (the REST client's messages, earlier echoes) pass by
            event = await self.ws.receive_json(timeout=20)
            if event.get("nonce") != text:
                continue
            if event["type"] == "new_message":
                return True
            assert event == {"type": "error", "message": UNAVAILABLE, "retryAfter": 1, "nonce": text}
            return False


async def test_a_postgresql_restart_under_traffic_answers_only_503s_and_retry_events_and_loses_nothing(
        tmp_path, password_hash, app_queries, test_queries):
    postgres = start_postgres(tmp_path / "pg")
    url = postgres.get_uri()
    apply_migrations(url)
    secret = "outage-test-secret-key-long-enough"
    con = await asyncpg.connect(url)
    row = await app_queries.create_user(con, username="alice", password_hash=password_hash, email=None)
    await con.close()
    token, _ = issue_token(Config(secret_key=secret, database_url=url), User(row["user_id"], "alice"))
    auth = {"Authorization": f"Bearer {token}"}
    chatd = await ChatdProcess(url, secret).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(chatd.url + "/chat/servers", json={"name": "Guild"}, headers=auth) as resp:
                server_id = (await resp.json())["id"]
            async with http.get(f"{chatd.url}/chat/servers/{server_id}/channels", headers=auth) as resp:
                channel_id = (await resp.json())[0]["id"]
            ws = await http.ws_connect(chatd.ws_url, params={"token": token})
            assert (await ws.receive_json(timeout=5))["type"] == "connected"
            senders = [RestSender(http, f"{chatd.url}/chat/servers/{server_id}/channels/{channel_id}/messages", auth),
                       WsSender(ws, server_id, channel_id)]
            # The WebSocket sender may spend the whole outage waiting for the echo of a message
            # stored just before it (the echo comes once the listener is back): this socket sends
            # while the database is surely gone.
            probe = WsSender(await http.ws_connect(chatd.ws_url, params={"token": token}), server_id, channel_id)
            assert (await probe.ws.receive_json(timeout=5))["type"] == "connected"
            done = asyncio.Event()
            traffic = asyncio.gather(*(sender.run(done) for sender in senders))
            await asyncio.sleep(1.0)
            await asyncio.to_thread(postgres.cleanup)  # pg_ctl stop: a fast shutdown
            async with http.ws_connect(chatd.ws_url, params={"token": token}) as refused:
                assert (await refused.receive(timeout=5)).data == 1013  # connects keep their close
            assert not await probe.send("probe")  # answered with the outage's error event
            await asyncio.sleep(1.5)
            postgres = await asyncio.to_thread(start_postgres, tmp_path / "pg")
            await chatd.wait_ready()
            await asyncio.sleep(1.0)
            done.set()
            await asyncio.wait_for(traffic, 30)
            await ws.close()
            await probe.ws.close()
        assert senders[0].refusals, "the REST client was refused during the outage"
        con = await asyncpg.connect(url)
        stored = {row["text"]: row["n"] async for row in test_queries.count_messages_by_text(con)}
        await con.close()
        assert stored == {text: 1 for sender in senders for text in sender.acknowledged}
    except BaseException:
        print("\n".join(chatd.log))  # shown with the failure: what chatd logged, tracebacks included
        raise
    finally:
        assert await chatd.stop() == 0
        postgres.cleanup()
    assert not [line for line in chatd.log if re.search(r"Traceback|level=ERROR|event=ws_\w+_failed", line)]
    outage = [line.split(" level=", 1)[1] for line in chatd.log if "event=database_" in line]
    assert len(outage) == 2, outage
    assert re.fullmatch(r"WARNING logger=chatd.store.availability event=database_unavailable error=\w+", outage[0])
    assert re.fullmatch(r"INFO logger=chatd.store.availability event=database_available down_seconds=\d+\.\d", outage[1])
