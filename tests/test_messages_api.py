"""Messages: posting to /chat/servers/{sid}/channels/{cid}/messages and reading history pages,
by offset and by `before`."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from uuid import UUID, uuid4

import pytest

CLOCK = re.compile(r"^(1[0-2]|[1-9]):[0-5][0-9] (AM|PM)$")
HISTORY = 130  # more than one page of 100, so every paging path crosses page boundaries


def messages_url(server, channel_id: str | None = None) -> str:
    return f"{server.url}/channels/{channel_id or server.general}/messages"


def clock(created_at: str) -> str:
    moment = datetime.fromisoformat(created_at).astimezone(timezone.utc)
    return moment.strftime("%I:%M %p").lstrip("0")


async def post(client, server, person, text: str, channel_id: str | None = None):
    return await client.post(messages_url(server, channel_id), json={"text": text}, headers=person.auth)


async def page(client, server, person, query: str = "", channel_id: str | None = None) -> list[dict]:
    resp = await client.get(messages_url(server, channel_id) + query, headers=person.auth)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def texts(client, server, person, query: str = "") -> list[str]:
    return [m["text"] for m in await page(client, server, person, query)]


def numbered(first: int, last: int) -> list[str]:
    return [f"message {i}" for i in range(first, last + 1)]


@pytest.fixture
async def history(db, test_queries, alice, server):
    """HISTORY messages by alice in the general channel, "message 1" (oldest) .. "message 130"."""
    await test_queries.insert_messages(db, channel_id=UUID(server.general), user_id=alice.id, n=HISTORY,
                                       newest=datetime.now(timezone.utc))


@pytest.fixture
async def voice(client, alice, server) -> str:
    resp = await client.post(f"{server.url}/channels", json={"name": "lounge", "type": "VOICE"}, headers=alice.auth)
    assert resp.status == 201
    return (await resp.json())["id"]


# Posting

async def test_posting_answers_201_with_the_message(client, alice, server):
    resp = await post(client, server, alice, "hello")
    assert resp.status == 201
    body = await resp.json()
    assert body == {
        "id": body["id"], "server_id": server.id, "channel_id": server.general, "user_id": str(alice.id),
        "user": "alice", "text": "hello", "timestamp": clock(body["created_at"]), "created_at": body["created_at"],
        "seq": 1, "event_seq": 1, "edited_at": None, "reply_to": None, "reactions": [], "attachments": [],
        "mentions": [], "mention_everyone": False, "thread": None,
    }
    UUID(body["id"])
    assert CLOCK.match(body["timestamp"])
    assert abs((datetime.now(timezone.utc) - datetime.fromisoformat(body["created_at"])).total_seconds()) < 60


async def test_a_posted_message_is_read_back_as_it_was_answered(client, alice, bob, server, add_member):
    await add_member(bob)
    first = await (await post(client, server, alice, "first")).json()
    second = await (await post(client, server, bob, "second")).json()
    assert await page(client, server, bob) == [first, second]
    assert (first["user"], second["user"]) == ("alice", "bob")
    assert (first["seq"], second["seq"]) == (1, 2)


@pytest.mark.parametrize("created_at, timestamp", [
    ("2026-01-02T13:05:00Z", "1:05 PM"),
    ("2026-01-02T00:30:00Z", "12:30 AM"),
    ("2026-01-02T12:00:00Z", "12:00 PM"),
    ("2026-01-02T09:07:59Z", "9:07 AM"),
    ("2026-01-02T23:59:00Z", "11:59 PM"),
])
async def test_the_timestamp_is_the_utc_wall_clock_time(client, db, test_queries, alice, server, created_at, timestamp):
    await test_queries.insert_messages(db, channel_id=UUID(server.general), user_id=alice.id, n=1,
                                       newest=datetime.fromisoformat(created_at))
    [message] = await page(client, server, alice)
    assert (message["created_at"], message["timestamp"]) == (created_at, timestamp)


@pytest.mark.parametrize("sent, stored", [
    ("  hello  ", "hello"), ("\n\thello\r\n", "hello"), (" two  words ", "two  words"),
    ("line one\nline two", "line one\nline two"),
])
async def test_the_text_is_stripped_of_surrounding_whitespace_only(client, alice, server, sent, stored):
    resp = await post(client, server, alice, sent)
    assert resp.status == 201
    assert (await resp.json())["text"] == stored
    assert await texts(client, server, alice) == [stored]


@pytest.mark.parametrize("text", ["", " ", "\n\t \r\n", "\u3000"])
async def test_a_blank_message_is_400(client, alice, server, text):
    resp = await post(client, server, alice, text)
    assert resp.status == 400
    assert await resp.json() == {"detail": "text must not be blank"}
    assert await texts(client, server, alice) == []


async def test_a_message_of_4001_characters_is_400(client, alice, server):
    resp = await post(client, server, alice, "x" * 4001)
    assert resp.status == 400
    assert await resp.json() == {"detail": "text is longer than 4000 characters"}
    assert await texts(client, server, alice) == []


@pytest.mark.parametrize("text", ["x" * 4000, "  " + "é" * 4000 + "\n", "😀" * 4000])
async def test_a_message_of_4000_characters_after_stripping_is_stored(client, alice, server, text):
    resp = await post(client, server, alice, text)
    assert resp.status == 201
    assert await texts(client, server, alice) == [text.strip()]


@pytest.mark.parametrize("body, detail", [
    ({}, "text must not be blank"),
    ({"text": None}, "Expected `str`, got `null` - at `$.text`"),
    ({"text": ["hi"]}, "Expected `str`, got `array` - at `$.text`"),
    ({"text": "hi", "author": "bob"}, "Object contains unknown field `author`"),
])
async def test_posting_a_bad_body_is_400(client, alice, server, body, detail):
    resp = await client.post(messages_url(server), json=body, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}


async def test_a_voice_channel_takes_no_messages(client, alice, server, voice):
    resp = await post(client, server, alice, "hello?", channel_id=voice)
    assert resp.status == 400
    assert await resp.json() == {"detail": "this is a VOICE channel: only TEXT channels take messages"}
    assert await page(client, server, alice, channel_id=voice) == []


@pytest.mark.parametrize("text", [
    "'); DROP TABLE users; --",
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script> & &amp; \" ' `",
    "Robert'); DELETE FROM chatmessage WHERE ('1'='1",
    ":text $1 %s {text} \\x00 \\n",
    "Ünïcödé ✓ 中文 עברית 😀",
])
async def test_sql_and_html_payloads_are_stored_and_returned_verbatim(client, alice, server, text):
    resp = await post(client, server, alice, text)
    assert resp.status == 201
    assert (await resp.json())["text"] == text
    assert await texts(client, server, alice) == [text]
    me = await client.get("/auth/me", headers=alice.auth)
    assert me.status == 200  # the users table is still there


# Reading history

async def test_an_empty_channel_has_an_empty_history(client, alice, server):
    assert await page(client, server, alice) == []


async def test_the_default_page_holds_the_newest_50_oldest_first(client, alice, server, history):
    assert await texts(client, server, alice) == numbered(81, 130)


async def test_a_page_holds_the_newest_messages_after_skipping_offset(client, alice, server, history):
    assert await texts(client, server, alice, "?limit=10&offset=5") == numbered(116, 125)
    assert await texts(client, server, alice, "?offset=100") == numbered(1, 30)
    assert await texts(client, server, alice, "?limit=1") == ["message 130"]


@pytest.mark.parametrize("limit", ["101", "1000", "99999999999999999999"])
async def test_a_limit_above_100_is_clamped_to_100(client, alice, server, history, limit):
    assert await texts(client, server, alice, f"?limit={limit}") == numbered(31, 130)


@pytest.mark.parametrize("offset", ["130", "5000", "99999999999999999999"])
async def test_an_offset_past_the_oldest_message_is_an_empty_page(client, alice, server, history, offset):
    assert await texts(client, server, alice, f"?offset={offset}") == []


async def test_empty_limit_and_offset_mean_the_defaults(client, alice, server, history):
    assert await texts(client, server, alice, "?limit=&offset=") == numbered(81, 130)


@pytest.mark.parametrize("query, detail", [
    ("?limit=0", "limit must be at least 1"),
    ("?limit=-1", "limit must be at least 1"),
    ("?limit=-99999999999999999999", "limit must be at least 1"),
    ("?limit=abc", "limit must be a whole number, not 'abc'"),
    ("?limit=1.5", "limit must be a whole number, not '1.5'"),
    ("?limit=1e2", "limit must be a whole number, not '1e2'"),
    ("?offset=-1", "offset must be at least 0"),
    ("?offset=x", "offset must be a whole number, not 'x'"),
    ("?offset=0x10", "offset must be a whole number, not '0x10'"),
    ("?before=42", "before is not a valid id"),
    ("?before=not-a-uuid", "before is not a valid id"),
])
async def test_a_bad_paging_parameter_is_400(client, alice, server, history, query, detail):
    resp = await client.get(messages_url(server) + query, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}


async def test_before_lists_the_messages_older_than_that_one(client, alice, server, history):
    newest = await page(client, server, alice, "?limit=10")
    anchor = newest[0]  # message 121
    assert await texts(client, server, alice, f"?before={anchor['id']}&limit=5") == numbered(116, 120)
    assert await texts(client, server, alice, f"?before={anchor['id']}") == numbered(71, 120)
    assert await texts(client, server, alice, f"?before={anchor['id']}&limit=5&offset=5") == numbered(111, 115)


async def test_before_the_oldest_message_is_an_empty_page(client, alice, server, history):
    oldest = (await page(client, server, alice, "?offset=129"))[0]
    assert oldest["text"] == "message 1"
    assert await page(client, server, alice, f"?before={oldest['id']}") == []


@pytest.mark.parametrize("limit", [1, 7, 50, 100])
async def test_walking_back_by_offset_and_by_before_reads_every_message_once_in_the_same_pages(
        client, alice, server, history, limit):
    by_offset, offset = [], 0
    while chunk := await page(client, server, alice, f"?limit={limit}&offset={offset}"):
        by_offset.append(chunk)
        offset += limit
    by_before = [await page(client, server, alice, f"?limit={limit}")]
    while chunk := await page(client, server, alice, f"?limit={limit}&before={by_before[-1][0]['id']}"):
        by_before.append(chunk)

    assert by_offset == by_before
    assert [len(chunk) for chunk in by_offset] == [limit] * (HISTORY // limit) + (
        [HISTORY % limit] if HISTORY % limit else [])
    # Newest page first; within a page oldest first: reversing the pages gives the whole history.
    history_order = [m for chunk in reversed(by_offset) for m in chunk]
    assert [m["text"] for m in history_order] == numbered(1, HISTORY)
    assert len({m["id"] for m in history_order}) == HISTORY
    assert [m["seq"] for m in history_order] == list(range(1, HISTORY + 1))


async def test_before_a_message_of_another_channel_is_400(client, alice, server, history):
    resp = await client.post(f"{server.url}/channels", json={"name": "other"}, headers=alice.auth)
    other = (await resp.json())["id"]
    elsewhere = (await (await post(client, server, alice, "elsewhere", channel_id=other)).json())["id"]
    resp = await client.get(f"{messages_url(server)}?before={elsewhere}", headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "before is not a message of this channel"}


async def test_before_a_message_that_does_not_exist_is_400(client, alice, server, history):
    resp = await client.get(f"{messages_url(server)}?before={uuid4()}", headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "before is not a message of this channel"}


async def test_posting_after_a_long_history_continues_it(client, alice, server, history):
    resp = await post(client, server, alice, "newest")
    assert resp.status == 201
    assert (await resp.json())["seq"] == HISTORY + 1
    assert await texts(client, server, alice, "?limit=3") == ["message 129", "message 130", "newest"]


async def test_an_after_seq_past_the_newest_message_is_an_empty_page(client, alice, server, history):
    assert await texts(client, server, alice, "?after_seq=99999999999999999999") == []
    assert await texts(client, server, alice, "?after_seq=128") == ["message 129", "message 130"]



async def test_a_nul_character_in_a_message_is_400(client, alice, server):
    resp = await post(client, server, alice, "nul\u0000byte")
    assert resp.status == 400
    assert await resp.json() == {"detail": "Expected `str` matching regex '^[^\\\\x00]*$' - at `$.text`"}
    assert await texts(client, server, alice) == []
