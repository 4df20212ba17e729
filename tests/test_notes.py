"""The notes between processes: each kind declared once (chatd.domain.notes), sent by one
statement of sql/ (itself, or a function of migrations/ it calls; typing: published from
Python), and what those statements send decodes into
its struct with every field and nothing more."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from uuid import UUID

import asyncpg
import msgspec

from chatd.domain.notes import NOTE_TYPES, TypingNote, decode_note
from chatd.ops.sweeps import sweep_idle_threads
from chatd.store.notify import NOTIFY_CHANNEL

from test_gateway import connect, next_event, send

SQL = Path(__file__).resolve().parent.parent / "sql"
MIGRATIONS = SQL.parent / "migrations"
PUBLISHED_FROM_PYTHON = {TypingNote}


def tag(note_type) -> str:
    return note_type.__struct_config__.tag


def function_bodies() -> dict[str, str]:
    """Each function of migrations/ by name, as it was last defined."""
    bodies = {}
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if not path.name.endswith(".rollback.sql"):
            for name, body in re.findall(r"CREATE (?:OR REPLACE )?FUNCTION (\w+)\(.*?\$\$(.*?)\$\$", path.read_text(),
                                         flags=re.S):
                bodies[name] = body
    return bodies


def sql_senders(kind: str) -> list[str]:
    """The named statements of sql/*.sql whose JSON says 'kind', '<kind>', or that of a
    function of migrations/ they call."""
    senders, bodies = [], function_bodies()
    for path in sorted(SQL.glob("*.sql")):
        for block in re.split(r"^-- name: ", path.read_text(), flags=re.M)[1:]:
            called = "".join(body for name, body in bodies.items() if re.search(rf"\b{name}\(", block))
            if re.search(rf"'kind',\s*'{kind}'", block + called):
                senders.append(f"{path.name}:{block.split('(')[0]}")
    return senders


def test_each_kind_of_note_is_sent_by_exactly_one_statement():
    senders = {tag(t): sql_senders(tag(t)) for t in NOTE_TYPES}
    assert {kind: len(found) for kind, found in senders.items()} == {
        tag(t): 0 if t in PUBLISHED_FROM_PYTHON else 1 for t in NOTE_TYPES}, senders


async def test_every_note_chatd_sends_decodes_into_its_struct_with_exactly_its_fields(
        client, database_url, db, alice, bob, carol, server, add_member):
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.append(args[-1]))
    try:
        await add_member(bob)
        await add_member(carol)
        resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id), str(carol.id)]}, headers=alice.auth)
        recipients = f"/chat/dms/{(await resp.json())['id']}/recipients/{carol.id}"
        assert (await client.delete(recipients, headers=alice.auth)).status == 204
        assert (await client.put(recipients, headers=alice.auth)).status == 204
        a = await connect(client, alice)
        await a.send_json({"type": "typing_start", "serverId": server.id, "channelId": server.general})
        await a.send_json(send(server, "hello", nonce="n-1"))
        hello = await next_event(a, "new_message")
        reactions = f"{server.url}/channels/{server.general}/messages/{hello['id']}/reactions"
        assert (await client.put(f"{reactions}/%F0%9F%91%8D/@me", headers=alice.auth)).status == 204
        assert (await client.delete(f"{reactions}/%F0%9F%91%8D/@me", headers=alice.auth)).status == 204
        assert (await client.put(f"{reactions}/%F0%9F%91%8D/@me", headers=alice.auth)).status == 204
        assert (await client.delete(reactions, headers=alice.auth)).status == 204
        await a.send_json(send(server, "x" * 4000))  # too long to travel in its note
        long = await next_event(a, "new_message")
        messages = f"{server.url}/channels/{server.general}/messages"
        assert (await client.patch(f"{messages}/{long['id']}", json={"text": "short"}, headers=alice.auth)).status == 200
        assert (await client.patch(f"{messages}/{long['id']}", json={"text": "😀" * 4000},  # too long again
                                   headers=alice.auth)).status == 200
        assert (await client.delete(f"{messages}/{long['id']}", headers=alice.auth)).status == 204
        resp = await client.post(f"{messages}/bulk-delete", json={"ids": [long["id"]]}, headers=alice.auth)
        assert resp.status == 204  # deleted already: no note
        assert (await client.post(f"{server.url}/channels/{server.general}/ack", json={"seq": 1},
                                  headers=bob.auth)).status == 200
        assert (await client.put(f"/chat/users/@me/notification-settings/server/{server.id}", json={"level": "all"},
                                 headers=bob.auth)).status == 200
        hello = (await (await client.get(messages, headers=alice.auth)).json())[0]
        resp = await client.post(f"{messages}/bulk-delete", json={"ids": [hello["id"]]}, headers=alice.auth)
        assert resp.status == 204
        resp = await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)
        news = (await resp.json())["id"]
        news_url = f"{server.url}/channels/{news}"
        assert (await client.patch(news_url, json={"topic": "t"}, headers=alice.auth)).status == 200
        assert (await client.patch(server.url, json={"name": "G"}, headers=alice.auth)).status == 200
        resp = await client.post(f"{server.url}/categories", json={"name": "c"}, headers=alice.auth)
        category = f"{server.url}/categories/{(await resp.json())['id']}"
        assert (await client.patch(category, json={"name": "d"}, headers=alice.auth)).status == 200
        layout = await (await client.get(f"{server.url}/layout", headers=alice.auth)).json()
        assert (await client.put(f"{server.url}/layout", json=layout, headers=alice.auth)).status == 200
        assert (await client.delete(category, headers=alice.auth)).status == 204
        assert (await client.delete(news_url, headers=alice.auth)).status == 204
        root = await (await client.post(messages, json={"text": "root"}, headers=alice.auth)).json()
        resp = await client.post(f"{messages}/{root['id']}/threads", json={"name": "t"}, headers=alice.auth)
        thread_id = (await resp.json())["id"]
        resp = await client.post(f"{server.url}/channels/{thread_id}/messages", json={"text": "reply"},
                                 headers=alice.auth)
        assert resp.status == 201
        reply_url = f"{server.url}/channels/{thread_id}/messages/{(await resp.json())['id']}"
        assert (await client.delete(reply_url, headers=alice.auth)).status == 204
        follower = f"/chat/threads/{thread_id}/followers/@me"
        assert (await client.put(follower, headers=carol.auth)).status == 204
        assert (await client.delete(follower, headers=carol.auth)).status == 204
        assert (await client.patch(f"/chat/threads/{thread_id}", json={"locked": True}, headers=alice.auth)).status == 200
        await db.execute("UPDATE chatchannel SET last_message_at = now() - interval '2 days' WHERE id = $1",
                         UUID(thread_id))
        await sweep_idle_threads(client.app)
        assert (await client.delete(f"/chat/threads/{thread_id}", headers=alice.auth)).status == 204
        resp = await client.post(f"{server.url}/invites", json={"max_uses": 2}, headers=alice.auth)
        code = (await resp.json())["code"]
        assert (await client.delete(f"{server.url}/invites/{code}", headers=alice.auth)).status == 204
        assert (await client.delete(f"{server.url}/members/{bob.id}", headers=alice.auth)).status == 204
        assert (await client.post("/auth/logout", headers=bob.auth)).status == 204
        assert (await client.delete(server.url, headers=alice.auth)).status == 204
        for _ in range(50):
            if any('"server_deleted"' in payload for payload in heard):
                break
            await asyncio.sleep(0.05)
    finally:
        await listener.close()

    seen = set()
    for payload in heard:
        note = decode_note(payload)
        fields = set(msgspec.json.decode(payload))
        assert fields == {"kind", *type(note).__struct_fields__}, payload
        seen.add(type(note))
    assert seen == set(NOTE_TYPES)
