"""Group commit: concurrent sends share one INSERT and one commit, and each keeps what a send
on its own had: its permission check, its nonce, seq in commit order, its note in seq order."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
import pytest

from chatd.store.pool import create_pool
from chatd.domain.notes import MessageNote, decode_note
from chatd.store.groupcommit import GroupCommit, Outgoing
from chatd.store.notify import NOTIFY_CHANNEL, PgNotify
from chatd.ops.metrics import Metrics

from test_gateway import connect, next_event


@pytest.fixture
async def pool(database_url):
    pool = await create_pool(database_url, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def notes(database_url):
    """The message notes every chatd process would hear, in the order PostgreSQL sends them."""
    heard: list[MessageNote] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.append(decode_note(args[-1])))
    yield heard
    await listener.close()


async def create_channel(client, server, person, name: str, kind: str = "TEXT") -> UUID:
    resp = await client.post(f"{server.url}/channels", json={"name": name, "type": kind}, headers=person.auth)
    assert resp.status == 201, await resp.text()
    return UUID((await resp.json())["id"])


async def test_one_batch_keeps_each_sends_rules_seq_order_and_nonce(client, pool, app_queries, notes, alice, bob,
                                                                      server):
    general, sid = UUID(server.general), UUID(server.id)
    voice = await create_channel(client, server, alice, "voice", "VOICE")
    random = await create_channel(client, server, alice, "random")
    metrics = Metrics({})
    writer = GroupCommit(pool, app_queries, PgNotify({}), metrics)  # gathered while idle: the sends below are one batch

    def as_alice(channel: UUID, text: str, nonce: str | None = None) -> Outgoing:
        return Outgoing(sid, channel, alice.id, "alice", text, nonce)

    rows = await asyncio.gather(*(writer.store(m) for m in [
        as_alice(general, "first", "n-1"),
        as_alice(general, "second"),
        Outgoing(sid, general, bob.id, "bob", "not a member", None),
        as_alice(voice, "into a voice channel"),
        as_alice(general, "first, resent in the same batch", "n-1"),
        as_alice(random, "elsewhere"),
        as_alice(general, "third"),
    ]))
    sizes = [metrics.registry.get_sample_value(f"chatd_message_batch_size_{kind}") for kind in ("sum", "count")]
    assert sizes == [7, 1]  # 7 messages, one commit
    first, second, outsider, spoken, resent, elsewhere, third = rows
    assert (outsider, spoken) == (None, None)
    assert [(r["text"], r["seq"], r["created"]) for r in (first, second, third, elsewhere)] == [
        ("first", 1, True), ("second", 2, True), ("third", 3, True), ("elsewhere", 1, True)]
    assert (resent["id"], resent["created"]) == (first["id"], False)

    again = await writer.store(as_alice(random, "first, resent later", "n-1"))
    assert (again["id"], again["text"], again["created"]) == (first["id"], "first", False)

    await asyncio.sleep(0.2)
    heard = [(n.channel_id, n.seq, n.text) for n in notes if isinstance(n, MessageNote)]
    assert [(seq, text) for channel, seq, text in heard if channel == general] == [
        (1, "first"), (2, "second"), (3, "third")]
    assert [(seq, text) for channel, seq, text in heard if channel == random] == [(1, "elsewhere")]


async def test_one_nonce_in_two_processes_batches_at_once_is_stored_once_and_answers_both(
        pool, app_queries, db, test_queries, lock_waiters, alice, server):
    # Two group commits are two chatd processes: their batches can run at the same time.
    one, two = (GroupCommit(pool, app_queries, PgNotify({})) for _ in range(2))
    message = Outgoing(UUID(server.id), UUID(server.general), alice.id, "alice", "once", "n-1")
    async with db.transaction():
        # Both statements take their snapshot, then wait for the channel row: neither sees
        # the other's message, as when two batches overlap.
        await test_queries.hold_channel_row(db, channel_id=UUID(server.general))
        stores = [asyncio.ensure_future(writer.store(message)) for writer in (one, two)]
        await lock_waiters(2)
    rows = await asyncio.gather(*stores)
    assert sorted(row["created"] for row in rows) == [False, True]
    assert rows[0]["id"] == rows[1]["id"] and rows[0]["seq"] == rows[1]["seq"] == 1
    counts = [dict(row) async for row in test_queries.count_messages_by_nonce(db, channel_id=UUID(server.general))]
    assert counts == [{"nonce": "n-1", "messages": 1}]


async def test_a_message_postgresql_refuses_fails_alone(pool, app_queries, alice, server):
    writer = GroupCommit(pool, app_queries, PgNotify({}))
    sid, general = UUID(server.id), UUID(server.general)
    results = await asyncio.gather(*(writer.store(Outgoing(sid, general, alice.id, "alice", text, None))
                                     for text in ("before", "nul \x00 byte", "after")), return_exceptions=True)
    before, refused, after = results
    assert isinstance(refused, asyncpg.PostgresError), refused
    assert (before["text"], after["text"]) == ("before", "after")
    assert sorted([before["seq"], after["seq"]]) == [1, 2]


async def test_concurrent_sends_are_batched_and_arrive_once_each_in_seq_order(client, alice, server):
    ws = await connect(client, alice)
    url = f"{server.url}/channels/{server.general}/messages"
    sent = await asyncio.gather(*(client.post(url, json={"text": f"m{i}"}, headers=alice.auth) for i in range(40)))
    assert [r.status for r in sent] == [201] * 40
    seqs = [(await next_event(ws, "new_message"))["seq"] for _ in range(40)]
    assert seqs == list(range(1, 41))

    metrics = await (await client.get("/metrics")).text()
    count = next(float(line.split()[-1]) for line in metrics.splitlines()
                 if line.startswith("chatd_message_batch_size_count"))
    total = next(float(line.split()[-1]) for line in metrics.splitlines()
                 if line.startswith("chatd_message_batch_size_sum"))
    assert total == 40 and count < 40, (count, total)


async def test_a_send_right_after_a_batch_is_never_stranded(pool, app_queries, alice, server):
    # Each send starts when the previous one is answered: the moment the committer finds
    # nothing more to do. A send arriving then must start a commit of its own.
    writer = GroupCommit(pool, app_queries, PgNotify({}))
    sid, general = UUID(server.id), UUID(server.general)

    async def one_after_another() -> list[int]:
        return [(await writer.store(Outgoing(sid, general, alice.id, "alice", f"m{i}", None)))["seq"]
                for i in range(20)]

    assert await asyncio.wait_for(one_after_another(), 10) == list(range(1, 21))
