"""Categories, the layout, and managing what exists: renaming a server, renaming a channel and
setting its topic, deleting a channel (issue 19)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from test_gateway import connect, next_event, no_event, send

ONLY_ADMIN_LAYOUT = "only an ADMIN can manage categories and the layout"


async def ok(resp, status: int = 200):
    assert resp.status == status, await resp.text()
    return None if status == 204 else await resp.json()


async def new_category(client, server, person, name: str) -> dict:
    return await ok(await client.post(f"{server.url}/categories", json={"name": name}, headers=person.auth), 201)


async def new_channel(client, server, person, name: str, **body) -> dict:
    return await ok(await client.post(f"{server.url}/channels", json={"name": name, **body}, headers=person.auth),
                    201)


async def layout_of(client, server, person) -> dict:
    return await ok(await client.get(f"{server.url}/layout", headers=person.auth))


async def channel_names(client, server, person) -> list[tuple[str, str | None, int]]:
    channels = await ok(await client.get(f"{server.url}/channels", headers=person.auth))
    return [(c["name"], c["category_id"], c["position"]) for c in channels]


# Categories and the layout.

async def test_a_new_server_has_a_layout_of_general_alone(client, alice, server):
    assert await layout_of(client, server, alice) == {"version": 0, "categories": [], "uncategorized": [server.general]}


async def test_categories_are_created_in_order_and_listed_in_the_layout(client, alice, server):
    text = await new_category(client, server, alice, "  Text ")
    voice = await new_category(client, server, alice, "Voice")
    assert text == {"id": text["id"], "name": "Text", "position": 0, "channel_ids": []}
    assert voice["position"] == 1
    news = await new_channel(client, server, alice, "news", category_id=text["id"])
    assert (news["category_id"], news["position"]) == (text["id"], 0)
    layout = await layout_of(client, server, alice)
    assert layout == {"version": 3, "categories": [
        {"id": text["id"], "name": "Text", "position": 0, "channel_ids": [news["id"]]},
        {"id": voice["id"], "name": "Voice", "position": 1, "channel_ids": []},
    ], "uncategorized": [server.general]}


async def test_channels_are_listed_uncategorized_first_then_by_category_and_position(client, alice, server):
    second = await new_category(client, server, alice, "second")
    first = await new_category(client, server, alice, "first")
    await new_channel(client, server, alice, "b2", category_id=second["id"])
    await new_channel(client, server, alice, "a1", category_id=first["id"])
    await new_channel(client, server, alice, "b1", category_id=second["id"], position=0)
    await new_channel(client, server, alice, "loose")
    layout = await layout_of(client, server, alice)
    layout["categories"].reverse()
    layout["categories"][1]["channel_ids"].reverse()  # second: b1, b2 -> b2, b1
    resp = await client.put(f"{server.url}/layout", json=layout, headers=alice.auth)
    await ok(resp)
    assert await channel_names(client, server, alice) == [
        ("general", None, 0), ("loose", None, 1), ("a1", first["id"], 0), ("b2", second["id"], 0),
        ("b1", second["id"], 1)]


async def test_a_reorder_moves_channels_between_categories_and_answers_the_new_layout(client, alice, server):
    cat = await new_category(client, server, alice, "cat")
    news = await new_channel(client, server, alice, "news")
    before = await layout_of(client, server, alice)
    change = {"version": before["version"],
              "categories": [{"id": cat["id"], "channel_ids": [news["id"], server.general]}], "uncategorized": []}
    after = await ok(await client.put(f"{server.url}/layout", json=change, headers=alice.auth))
    assert after == {"version": before["version"] + 1, "uncategorized": [], "categories": [
        {"id": cat["id"], "name": "cat", "position": 0, "channel_ids": [news["id"], server.general]}]}
    assert await layout_of(client, server, alice) == after


async def test_a_reorder_reaches_every_member_as_one_layout_updated(client, alice, bob, server, add_member):
    await add_member(bob)
    cat = await new_category(client, server, alice, "cat")
    ws = await connect(client, bob)
    layout = await layout_of(client, server, alice)
    layout["categories"][0]["channel_ids"] = layout["uncategorized"]
    layout["uncategorized"] = []
    answer = await ok(await client.put(f"{server.url}/layout", json=layout, headers=alice.auth))
    event = await next_event(ws, "layout_updated")
    assert event == {"type": "layout_updated", "serverId": server.id, "layout": answer}
    assert answer["categories"][0]["id"] == cat["id"]
    await no_event(ws, "layout_updated")


async def test_a_stale_version_is_409_with_the_current_layout_and_changes_nothing(client, alice, server):
    old = await layout_of(client, server, alice)
    await new_category(client, server, alice, "cat")
    current = await layout_of(client, server, alice)
    resp = await client.put(f"{server.url}/layout", json=old, headers=alice.auth)
    assert resp.status == 409
    assert await resp.json() == {"detail": "the layout changed since that version: here is the current one",
                                 "layout": current}
    assert await layout_of(client, server, alice) == current


async def test_of_two_reorders_based_on_one_version_exactly_one_wins(client, alice, server):
    cats = [await new_category(client, server, alice, f"c{i}") for i in range(2)]
    channels = [(await new_channel(client, server, alice, f"n{i}"))["id"] for i in range(4)]
    base = await layout_of(client, server, alice)

    def edit(to: int) -> dict:
        return {"version": base["version"], "uncategorized": [],
                "categories": [{"id": cats[to]["id"], "channel_ids": [server.general, *channels]},
                               {"id": cats[1 - to]["id"], "channel_ids": []}]}

    for _ in range(5):
        responses = await asyncio.gather(*(client.put(f"{server.url}/layout", json=edit(i % 2), headers=alice.auth)
                                           for i in range(2)))
        statuses = sorted(resp.status for resp in responses)
        assert statuses == [200, 409]
        [winner] = [await r.json() for r in responses if r.status == 200]
        assert await layout_of(client, server, alice) == winner
        base = winner


@pytest.mark.parametrize("problem", ["misses", "repeats", "invents"])
@pytest.mark.parametrize("what", ["channel", "category"])
async def test_a_layout_that_misses_repeats_or_invents_is_400_naming_it(client, alice, server, problem, what):
    cat = await new_category(client, server, alice, "cat")
    layout = await layout_of(client, server, alice)
    stranger = str(uuid.uuid4())
    if what == "channel":
        ids = layout["uncategorized"]
        named = server.general if problem != "invents" else stranger
        {"misses": ids.clear, "repeats": lambda: ids.append(server.general),
         "invents": lambda: ids.append(stranger)}[problem]()
    else:
        cats = layout["categories"]
        named = cat["id"] if problem != "invents" else stranger
        {"misses": cats.clear, "repeats": lambda: cats.append(dict(cats[0])),
         "invents": lambda: cats.append({"id": stranger, "channel_ids": []})}[problem]()
    verb = {"misses": "misses", "repeats": "repeats", "invents": "names unknown"}[problem]
    resp = await client.put(f"{server.url}/layout", json=layout, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "the layout must list every category and channel exactly once: it "
                                           f"{verb} {what} {named}"}
    assert (await layout_of(client, server, alice))["version"] == layout["version"]


@pytest.mark.parametrize("body, detail", [
    ({"categories": [], "uncategorized": []}, "Object missing required field `version`"),
    ({"version": -1, "categories": [], "uncategorized": []}, "Expected `int` >= 0 - at `$.version`"),
    ({"version": 0, "categories": [{"id": "x", "channel_ids": []}], "uncategorized": []},
     "Invalid UUID - at `$.categories[0].id`"),
    ({"version": 0, "categories": [], "uncategorized": ["nope"]}, "Invalid UUID - at `$.uncategorized[0]`"),
    ({"version": 0, "categories": [{"channel_ids": []}], "uncategorized": []},
     "Object missing required field `id` - at `$.categories[0]`"),
])
async def test_a_malformed_layout_is_400(client, alice, server, body, detail):
    resp = await client.put(f"{server.url}/layout", json=body, headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, {"detail": detail})


async def test_renaming_a_category_keeps_the_version_and_tells_members(client, alice, bob, server, add_member):
    await add_member(bob)
    cat = await new_category(client, server, alice, "cat")
    news = await new_channel(client, server, alice, "news", category_id=cat["id"])
    version = (await layout_of(client, server, alice))["version"]
    ws = await connect(client, bob)
    renamed = await ok(await client.patch(f"{server.url}/categories/{cat['id']}", json={"name": " dog "},
                                          headers=alice.auth))
    assert renamed == {"id": cat["id"], "name": "dog", "position": 0, "channel_ids": [news["id"]]}
    event = await next_event(ws, "layout_updated")
    assert event["layout"]["categories"][0]["name"] == "dog"
    assert event["layout"]["version"] == version


async def test_deleting_a_category_leaves_its_channels_uncategorized_after_the_others(client, alice, bob, server,
                                                                                       add_member):
    await add_member(bob)
    first = await new_category(client, server, alice, "first")
    doomed = await new_category(client, server, alice, "doomed")
    last = await new_category(client, server, alice, "last")
    a = await new_channel(client, server, alice, "a", category_id=doomed["id"])
    b = await new_channel(client, server, alice, "b", category_id=doomed["id"])
    ws = await connect(client, bob)
    await ok(await client.delete(f"{server.url}/categories/{doomed['id']}", headers=alice.auth), 204)
    layout = await layout_of(client, server, alice)
    assert layout["uncategorized"] == [server.general, a["id"], b["id"]]
    assert [(c["id"], c["position"]) for c in layout["categories"]] == [(first["id"], 0), (last["id"], 1)]
    assert (await next_event(ws, "layout_updated"))["layout"] == layout
    assert await channel_names(client, server, alice) == [("general", None, 0), ("a", None, 1), ("b", None, 2)]


async def test_an_unknown_category_is_404_and_one_of_another_server_is_refused(client, alice, server):
    resp = await client.post("/chat/servers", json={"name": "Other"}, headers=alice.auth)
    other = (await resp.json())["id"]
    resp = await client.post(f"/chat/servers/{other}/categories", json={"name": "theirs"}, headers=alice.auth)
    theirs = (await resp.json())["id"]
    for category in (theirs, str(uuid.uuid4())):
        resp = await client.patch(f"{server.url}/categories/{category}", json={"name": "x"}, headers=alice.auth)
        assert (resp.status, await resp.json()) == (404, {"detail": "category not found"})
        resp = await client.delete(f"{server.url}/categories/{category}", headers=alice.auth)
        assert (resp.status, await resp.json()) == (404, {"detail": "category not found"})
    resp = await client.post(f"{server.url}/channels", json={"name": "x", "category_id": theirs}, headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, {"detail": "category_id is not a category of this server"})


@pytest.mark.parametrize("name, detail", [
    ("", "Expected `str` of length >= 1 - at `$.name`"),
    ("  ", "name must not be blank"),
    ("x" * 101, "Expected `str` of length <= 100 - at `$.name`"),
])
async def test_a_blank_or_overlong_category_name_is_400(client, alice, server, name, detail):
    resp = await client.post(f"{server.url}/categories", json={"name": name}, headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, {"detail": detail})
    cat = await new_category(client, server, alice, "cat")
    resp = await client.patch(f"{server.url}/categories/{cat['id']}", json={"name": name}, headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, {"detail": detail})


async def test_channels_created_at_once_in_a_category_get_dense_distinct_positions(client, alice, server):
    cat = await new_category(client, server, alice, "cat")
    responses = await asyncio.gather(*(client.post(f"{server.url}/channels",
                                                   json={"name": f"c{i}", "category_id": cat["id"]},
                                                   headers=alice.auth) for i in range(15)))
    assert [resp.status for resp in responses] == [201] * 15
    assert sorted([(await r.json())["position"] for r in responses]) == list(range(15))
    assert [p for _, _, p in await channel_names(client, server, alice)] == [0, *range(15)]


async def test_channels_created_while_others_are_deleted_keep_dense_positions(client, alice, server):
    doomed = [await new_channel(client, server, alice, f"d{i}") for i in range(5)]
    await asyncio.gather(*(client.post(f"{server.url}/channels", json={"name": f"c{i}"}, headers=alice.auth)
                           for i in range(5)),
                         *(client.delete(f"{server.url}/channels/{c['id']}", headers=alice.auth) for c in doomed))
    assert [p for _, _, p in await channel_names(client, server, alice)] == list(range(6))


# Managing what exists.

async def test_an_admin_renames_the_server_and_sets_its_icon_and_members_hear_it(client, alice, bob, server,
                                                                                   add_member):
    await add_member(bob)
    ws = await connect(client, bob)
    answer = await ok(await client.patch(server.url, json={"name": " Renamed ", "icon": "https://x/i.png"},
                                         headers=alice.auth))
    assert (answer["name"], answer["icon"], answer["role"]) == ("Renamed", "https://x/i.png", "ADMIN")
    event = await next_event(ws, "server_updated")
    assert event == {"type": "server_updated", "serverId": server.id, "server": {
        key: answer[key] for key in ("id", "name", "icon", "creator_id", "created_by", "created_at")}}
    answer = await ok(await client.patch(server.url, json={"icon": None}, headers=alice.auth))
    assert (answer["name"], answer["icon"]) == ("Renamed", None)
    assert (await ok(await client.get(server.url, headers=bob.auth)))["name"] == "Renamed"


async def test_an_admin_renames_a_channel_and_sets_its_topic_and_members_hear_it(client, alice, bob, server,
                                                                                  add_member):
    await add_member(bob)
    ws = await connect(client, bob)
    url = f"{server.url}/channels/{server.general}"
    answer = await ok(await client.patch(url, json={"name": "lobby", "topic": " say hi "}, headers=alice.auth))
    assert (answer["name"], answer["topic"]) == ("lobby", "say hi")
    assert await next_event(ws, "channel_updated") == {"type": "channel_updated", "serverId": server.id,
                                                        "channel": answer}
    [listed] = await ok(await client.get(f"{server.url}/channels", headers=bob.auth))
    assert listed == answer
    assert (await ok(await client.patch(url, json={"topic": "  "}, headers=alice.auth)))["topic"] is None
    assert (await ok(await client.patch(url, json={"topic": "x" * 1024}, headers=alice.auth)))["topic"] == "x" * 1024
    assert (await ok(await client.patch(url, json={"topic": None}, headers=alice.auth)))["topic"] is None


@pytest.mark.parametrize("body, detail", [
    ({}, "give a name, a topic or both"),
    ({"name": "  "}, "name must not be blank"),
    ({"name": "x" * 101}, "Expected `str` of length <= 100 - at `$.name`"),
    ({"topic": "x" * 1025}, "Expected `str` of length <= 1024 - at `$.topic`"),
    ({"name": None}, "Expected `str`, got `null` - at `$.name`"),
    ({"position": 1}, "Object contains unknown field `position`"),
])
async def test_a_bad_channel_change_is_400(client, alice, server, body, detail):
    resp = await client.patch(f"{server.url}/channels/{server.general}", json=body, headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, {"detail": detail})


@pytest.mark.parametrize("body, detail", [
    ({}, "give a name, an icon or both"),
    ({"name": "\t"}, "name must not be blank"),
    ({"name": "x" * 101}, "Expected `str` of length <= 100 - at `$.name`"),
])
async def test_a_bad_server_change_is_400(client, alice, server, body, detail):
    resp = await client.patch(server.url, json=body, headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, {"detail": detail})


async def test_deleting_a_channel_takes_its_messages_and_tells_members(client, alice, bob, server, add_member, db):
    await add_member(bob)
    news = await new_channel(client, server, alice, "news")
    after = await new_channel(client, server, alice, "after")
    messages = f"{server.url}/channels/{news['id']}/messages"
    sent = await ok(await client.post(messages, json={"text": "hi", "nonce": "n1"}, headers=bob.auth), 201)
    await ok(await client.put(f"{messages}/{sent['id']}/reactions/%F0%9F%91%8D/@me", headers=bob.auth), 204)
    await ok(await client.post(f"{server.url}/channels/{news['id']}/ack", json={"seq": 1}, headers=bob.auth))
    ws = await connect(client, bob)
    await ok(await client.delete(f"{server.url}/channels/{news['id']}", headers=alice.auth), 204)
    assert await next_event(ws, "channel_deleted") == {"type": "channel_deleted", "serverId": server.id,
                                                       "channelId": news["id"]}
    for table in ("chatmessage", "message_change", "message_reaction", "read_state"):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE channel_id = $1", uuid.UUID(news["id"])) == 0
    assert await db.fetchval("SELECT count(*) FROM chatmessage_nonce WHERE nonce = 'n1'") == 0
    for resp in (await client.get(messages, headers=bob.auth),
                 await client.get(f"{server.url}/channels/{news['id']}/changes", headers=bob.auth),
                 await client.post(messages, json={"text": "late"}, headers=bob.auth),
                 await client.patch(f"{server.url}/channels/{news['id']}", json={"name": "x"}, headers=alice.auth),
                 await client.delete(f"{server.url}/channels/{news['id']}", headers=alice.auth)):
        assert (resp.status, await resp.json()) == (404, {"detail": "channel not found"})
    assert await channel_names(client, server, alice) == [("general", None, 0), ("after", None, 1)]
    assert after["position"] == 2


async def test_a_resume_of_a_deleted_channel_answers_channel_deleted(client, alice, server):
    news = await new_channel(client, server, alice, "news")
    await ok(await client.post(f"{server.url}/channels/{news['id']}/messages", json={"text": "hi"},
                               headers=alice.auth), 201)
    await ok(await client.delete(f"{server.url}/channels/{news['id']}", headers=alice.auth), 204)
    ws = await connect(client, alice)
    deleted = {"type": "channel_deleted", "serverId": server.id, "channelId": news["id"]}
    await ws.send_json({"type": "resume", "channels": {news["id"]: 0, server.general: 0}})
    assert await next_event(ws, "channel_deleted") == deleted
    assert (await next_event(ws, "resumed"))["channels"] == {server.general: 0}
    await ws.send_json({"type": "resume", "serverId": server.id, "channelId": news["id"], "afterSeq": 0})
    assert await next_event(ws, "channel_deleted") == deleted
    await no_event(ws, "error")
    await ws.send_json({"type": "resume", "channels": {str(uuid.uuid4()): 0}})
    assert (await next_event(ws, "error"))["message"] == "channel not found"


async def test_a_client_connected_while_its_channel_is_deleted_can_still_send_elsewhere(client, alice, bob, server,
                                                                                          add_member):
    await add_member(bob)
    news = await new_channel(client, server, alice, "news")
    ws = await connect(client, bob)
    await ok(await client.delete(f"{server.url}/channels/{news['id']}", headers=alice.auth), 204)
    await next_event(ws, "channel_deleted")
    await ws.send_json({"type": "send_message", "serverId": server.id, "channelId": news["id"], "text": "x"})
    assert (await next_event(ws, "error"))["message"] == "channel not found"
    await ws.send_json(send(server, "still here"))
    assert (await next_event(ws, "new_message"))["text"] == "still here"


# Who may.

ROUTES = [
    ("post", "/categories", {"name": "c"}),
    ("patch", "/categories/{cat}", {"name": "c"}),
    ("delete", "/categories/{cat}", None),
    ("put", "/layout", "layout"),
    ("patch", "", {"name": "n"}),
    ("patch", "/channels/{general}", {"topic": "t"}),
    ("delete", "/channels/{general}", None),
]


@pytest.mark.parametrize("method, path, body", ROUTES)
@pytest.mark.parametrize("role", ["MODERATOR", "MEMBER", None])
async def test_only_an_admin_manages_and_non_members_get_404(client, alice, bob, server, add_member, role,
                                                             method, path, body):
    if role:
        await add_member(bob, role)
    cat = await new_category(client, server, alice, "cat")
    layout = await layout_of(client, server, alice)
    url = server.url + path.format(cat=cat["id"], general=server.general)
    resp = await getattr(client, method)(url, json=layout if body == "layout" else body, headers=bob.auth)
    if role is None:
        assert (resp.status, await resp.json()) == (404, {"detail": "server not found"})
    else:
        assert resp.status == 403
        assert (await resp.json())["detail"].startswith("only an ADMIN can ")
    assert await layout_of(client, server, alice) == layout
    assert await channel_names(client, server, alice) == [("general", None, 0)]


async def test_members_read_the_layout_and_non_members_get_404(client, alice, bob, carol, server, add_member):
    await add_member(bob)
    assert (await layout_of(client, server, bob))["uncategorized"] == [server.general]
    resp = await client.get(f"{server.url}/layout", headers=carol.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "server not found"})
