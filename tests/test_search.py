"""Message search (GET /chat/search) on PostgreSQL's full-text search, against real PostgreSQL:
web-search syntax, snippets, filters, keyset paging, and the read permission inside the query."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest

from chatd.app import create_app
from chatd.config import ConfigError

from test_dms import open_dm
from test_edits import delete, edit, post


async def search(client, person, status: int = 200, **params) -> dict:
    resp = await client.get("/chat/search", params={k: str(v) for k, v in params.items()}, headers=person.auth)
    body = await resp.json()
    assert resp.status == status, body
    return body


def texts(page: dict) -> list[str]:
    return [hit["text"] for hit in page["results"]]


async def test_words_phrases_or_and_exclusions_find_what_web_search_syntax_means(client, alice, server):
    for text in ("the quick brown fox", "a brown dog", "quick thinking", "fox and dog"):
        await post(client, server, alice, text)
    assert texts(await search(client, alice, q="brown")) == ["a brown dog", "the quick brown fox"]
    assert texts(await search(client, alice, q='"brown fox"')) == ["the quick brown fox"]
    assert texts(await search(client, alice, q='"fox brown"')) == []
    assert texts(await search(client, alice, q="quick OR dog")) == [
        "fox and dog", "quick thinking", "a brown dog", "the quick brown fox"]
    assert texts(await search(client, alice, q="dog -fox")) == ["a brown dog"]
    assert texts(await search(client, alice, q="BROWN Fox")) == ["the quick brown fox"]


async def test_a_hit_is_the_message_with_an_escaped_snippet_marking_each_match(client, alice, server):
    sent = await post(client, server, alice, '<script>alert("x")</script> hello & welcome, hello')
    [hit] = (await search(client, alice, q="hello"))["results"]
    assert {k: v for k, v in hit.items() if k != "snippet"} == {**sent, "reactions": []}
    assert hit["snippet"] == ("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>hello</mark> &amp; welcome, "
                              "<mark>hello</mark>")


async def test_sql_and_tsquery_metacharacters_in_q_are_only_text(client, alice, server):
    await post(client, server, alice, "plain words")
    for q in ("'; DROP TABLE users; --", "a & b | !c", "fox:*", "a <-> b", "(((", "\\", "%_", '"unclosed', "-", "OR"):
        assert (await search(client, alice, q=q))["results"] == [], q
    assert texts(await search(client, alice, q="word:*")) == []  # no prefix matching by syntax either
    assert texts(await search(client, alice, q="words")) == ["plain words"]


async def test_bad_searches_are_400_naming_the_problem(client, alice, server):
    cases = [
        ({"q": ""}, "q must not be empty"), ({"q": "   "}, "q must not be empty"),
        ({"q": "x" * 501}, "q must be at most 500 characters"),
        ({"q": "nul \x00 here"}, "q must not contain NUL characters"),
        ({"q": "x", "server_id": "nope"}, "server_id is not a valid id"),
        ({"q": "x", "author_id": "42"}, "author_id is not a valid id"),
        ({"q": "x", "channel_id": server.general, "dm_id": server.general}, "give channel_id or dm_id, not both"),
        ({"q": "x", "has": "gifs"}, "has must be one of: link, attachment, mention"),
        ({"q": "x", "sort": "oldest"}, "sort must be one of: recent, relevance"),
        ({"q": "x", "before": "yesterday"}, "before must be an ISO 8601 time, like 2026-12-01T09:30:00Z"),
        ({"q": "x", "limit": "0"}, "limit must be at least 1"),
        ({"q": "x", "cursor": "not-a-cursor"}, "cursor is not one a search returned"),
    ]
    for params, detail in cases:
        assert await search(client, alice, 400, **params) == {"detail": detail}, params
    assert (await client.get("/chat/search", params={"q": "x"})).status == 401


async def test_only_what_the_caller_reads_now_is_found(client, alice, bob, server, add_member):
    await post(client, server, alice, "secret plans")
    assert texts(await search(client, bob, q="secret")) == []
    await add_member(bob)
    assert texts(await search(client, bob, q="secret")) == ["secret plans"]
    resp = await client.delete(f"{server.url}/members/{bob.id}", headers=alice.auth)
    assert resp.status == 204
    assert texts(await search(client, bob, q="secret")) == []
    await add_member(bob)
    resp = await client.put(f"{server.url}/bans/{bob.id}", json={"reason": "spam"}, headers=alice.auth)
    assert resp.status == 200, await resp.text()
    assert texts(await search(client, bob, q="secret")) == []
    # Filters naming what the caller may not read are the same 404 as everywhere.
    assert await search(client, bob, 404, q="secret", server_id=server.id) == {"detail": "server not found"}
    assert await search(client, bob, 404, q="secret", channel_id=server.general) == {"detail": "channel not found"}
    assert await search(client, alice, 404, q="secret", dm_id=server.general) == {
        "detail": "conversation not found"}


async def test_deleted_messages_are_never_found_and_edited_ones_only_by_their_text_now(client, alice, server):
    gone = await post(client, server, alice, "ephemeral remark")
    changed = await post(client, server, alice, "original wording")
    assert (await delete(client, server, alice, gone["id"])).status == 204
    assert (await edit(client, server, alice, changed["id"], "revised phrasing")).status == 200
    assert texts(await search(client, alice, q="ephemeral")) == []
    assert texts(await search(client, alice, q="original")) == []
    assert texts(await search(client, alice, q="revised")) == ["revised phrasing"]
    bulk = [await post(client, server, alice, f"bulk item {n}") for n in range(3)]
    resp = await client.post(f"{server.url}/channels/{server.general}/messages/bulk-delete",
                             json={"ids": [m["id"] for m in bulk]}, headers=alice.auth)
    assert resp.status == 204
    assert texts(await search(client, alice, q="bulk")) == []


async def test_filters_narrow_by_place_author_link_and_time(client, alice, bob, server, add_member):
    await add_member(bob)
    resp = await client.post(f"{server.url}/channels", json={"name": "other", "type": "text"}, headers=alice.auth)
    other = (await resp.json())["id"]
    first = await post(client, server, alice, "report one https://example.org/a")
    await post(client, server, bob, "report two")
    await post(client, server, alice, "report three", channel_id=other)
    assert texts(await search(client, alice, q="report", channel_id=other)) == ["report three"]
    assert texts(await search(client, alice, q="report", author_id=bob.id)) == ["report two"]
    assert texts(await search(client, alice, q="report", has="link")) == ["report one https://example.org/a"]
    assert texts(await search(client, alice, q="report", server_id=server.id)) == [
        "report three", "report two", "report one https://example.org/a"]
    sent_at = datetime.fromisoformat(first["created_at"])
    assert texts(await search(client, alice, q="report", before=sent_at.isoformat())) == []
    assert texts(await search(client, alice, q="report", after=sent_at.isoformat())) == ["report three", "report two"]
    later = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()
    assert texts(await search(client, alice, q="report", after=later)) == []


@pytest.mark.parametrize("sort", ["recent", "relevance"])
async def test_pages_follow_each_other_by_cursor_with_nothing_twice_and_nothing_missed(client, alice, server, sort):
    for n in range(23):
        await post(client, server, alice, "needle " * (1 + n % 4) + f"number {n}")
    seen, cursor, pages = [], None, 0
    while True:
        page = await search(client, alice, q="needle", sort=sort, limit=10, **({"cursor": cursor} if cursor else {}))
        seen += texts(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 23 and len(set(seen)) == 23
    if sort == "recent":
        assert seen == [f"{'needle ' * (1 + n % 4)}number {n}" for n in reversed(range(23))]
    else:  # more occurrences rank first
        counts = [text.count("needle") for text in seen]
        assert counts == sorted(counts, reverse=True)


async def test_a_common_term_newest_first_merges_the_callers_channels_and_skips_newer_ones_of_others(
        client, alice, bob, server, add_member, db, test_queries):
    # 1,000 newer messages saying "message" in bob's own server: the term is common (the probe
    # reads 1,000 matches), so each channel alice reads is walked from its newest.
    resp = await client.post("/chat/servers", json={"name": "Elsewhere"}, headers=bob.auth)
    elsewhere = (await resp.json())["id"]
    channels = await (await client.get(f"/chat/servers/{elsewhere}/channels", headers=bob.auth)).json()
    await test_queries.insert_messages(db, channel_id=UUID(channels[0]["id"]), user_id=bob.id, n=1000,
                                       newest=datetime.now(timezone.utc) + timedelta(hours=1))
    await add_member(bob)
    resp = await client.post(f"{server.url}/channels", json={"name": "other", "type": "text"}, headers=alice.auth)
    other = (await resp.json())["id"]
    dm = await open_dm(client, alice, bob, status=201)
    for n in range(15):
        if n % 3 == 2:
            resp = await client.post(f"/chat/dms/{dm['id']}/messages", json={"text": f"merged message {n}"},
                                     headers=bob.auth)
            assert resp.status == 201, await resp.text()
        else:
            await post(client, server, alice, f"merged message {n}", channel_id=other if n % 3 else None)
    seen, cursor = [], None
    while True:
        page = await search(client, alice, q="message", limit=4, **({"cursor": cursor} if cursor else {}))
        seen += texts(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"merged message {n}" for n in reversed(range(15))]
    assert len(texts(await search(client, bob, q="message", limit=50))) == 50


async def test_the_search_language_is_the_databases_and_a_change_reindexes_every_message(
        aiohttp_client, config, alice, db):
    english = await aiohttp_client(create_app(replace(config, search_language="english")))
    resp = await english.post("/chat/servers", json={"name": "Guild"}, headers=alice.auth)
    server_id = (await resp.json())["id"]
    channel = (await (await english.get(f"/chat/servers/{server_id}/channels", headers=alice.auth)).json())[0]["id"]
    resp = await english.post(f"/chat/servers/{server_id}/channels/{channel}/messages", json={"text": "she runs daily"},
                              headers=alice.auth)
    assert resp.status == 201
    assert texts(await search(english, alice, q="running")) == ["she runs daily"]  # stemmed
    simple = await aiohttp_client(create_app(config))  # back to `simple`: indexed again
    assert texts(await search(simple, alice, q="running")) == []
    assert texts(await search(simple, alice, q="runs")) == ["she runs daily"]


async def test_an_unknown_search_language_stops_startup_with_a_clear_error(aiohttp_client, config, db):
    with pytest.raises(ConfigError, match="CHATD_SEARCH_LANGUAGE='klingon'"):
        await aiohttp_client(create_app(replace(config, search_language="klingon")))


async def test_conversations_are_searched_by_their_people_only_and_leaving_one_ends_it_at_once(
        client, alice, bob, carol, server, add_member):
    await add_member(bob)
    await add_member(carol)
    one = await open_dm(client, alice, bob, status=201)
    group = await open_dm(client, alice, bob, carol, status=201)
    for dm, person, text in ((one, bob, "whisper to alice"), (group, carol, "whisper to the group")):
        resp = await client.post(f"/chat/dms/{dm['id']}/messages", json={"text": text}, headers=person.auth)
        assert resp.status == 201, await resp.text()
    assert texts(await search(client, alice, q="whisper")) == ["whisper to the group", "whisper to alice"]
    [hit] = (await search(client, alice, q="whisper", dm_id=one["id"]))["results"]
    assert (hit["text"], hit["server_id"], hit["channel_id"]) == ("whisper to alice", None, one["id"])
    assert texts(await search(client, carol, q="whisper")) == ["whisper to the group"]
    assert await search(client, carol, 404, q="whisper", dm_id=one["id"]) == {"detail": "conversation not found"}
    assert await search(client, alice, 404, q="whisper", dm_id=server.general) == {"detail": "conversation not found"}
    resp = await client.delete(f"/chat/dms/{group['id']}/recipients/@me", headers=carol.auth)
    assert resp.status == 204, await resp.text()
    assert texts(await search(client, carol, q="whisper")) == []
    assert texts(await search(client, bob, q="whisper")) == ["whisper to the group", "whisper to alice"]
