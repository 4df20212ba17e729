"""Invite links and bans: who may make and revoke invites, the preview anyone may read, joining
by one (atomically, however many accept at once), and bans keeping a user out."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

from chatd.domain.invites import ALPHABET
from test_gateway import connect, next_event, no_event


async def invite(client, server, person, **body) -> dict:
    resp = await client.post(f"{server.url}/invites", json=body, headers=person.auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def accept(client, person, code: str):
    return await client.post(f"/chat/invites/{code}/accept", headers=person.auth)


async def member_ids(client, server, person) -> set[str]:
    resp = await client.get(f"{server.url}/members", headers=person.auth)
    return {m["user_id"] for m in await resp.json()}


async def test_an_invite_has_a_code_of_ten_unmistakable_characters_and_expires_in_seven_days_by_default(
        client, alice, server):
    created = await invite(client, server, alice)
    assert re.fullmatch(f"[{ALPHABET}]{{10}}", created["code"])
    assert not set("0O1lIo") & set(ALPHABET) and len(ALPHABET) ** 8 >= 2 ** 46
    assert created["server_id"] == server.id and created["created_by"] == str(alice.id)
    assert created["max_uses"] is None and created["uses"] == 0
    age = datetime.fromisoformat(created["expires_at"]) - datetime.fromisoformat(created["created_at"])
    assert abs(age - timedelta(days=7)) < timedelta(seconds=1)
    assert (await invite(client, server, alice, max_age_seconds=0))["expires_at"] is None


async def test_a_moderator_creates_lists_and_revokes_invites_a_member_cannot(client, alice, bob, carol, server,
                                                                              add_member):
    await add_member(bob, "MODERATOR")
    await add_member(carol)
    created = await invite(client, server, bob, max_uses=3)
    resp = await client.get(f"{server.url}/invites", headers=alice.auth)
    assert [i["code"] for i in await resp.json()] == [created["code"]]
    for method, path in (("POST", f"{server.url}/invites"), ("GET", f"{server.url}/invites"),
                         ("DELETE", f"{server.url}/invites/{created['code']}")):
        resp = await client.request(method, path, headers=carol.auth)
        assert resp.status == 403
        assert await resp.json() == {"detail": "only a MODERATOR or ADMIN can manage invites"}
    resp = await client.delete(f"{server.url}/invites/{created['code']}", headers=bob.auth)
    assert resp.status == 204
    assert await (await client.get(f"{server.url}/invites", headers=alice.auth)).json() == []
    resp = await client.delete(f"{server.url}/invites/{created['code']}", headers=bob.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "invite not found"}


async def test_non_members_get_404_for_a_servers_invites_and_bans(client, alice, bob, server):
    for method, path in (("POST", f"{server.url}/invites"), ("GET", f"{server.url}/invites"),
                         ("DELETE", f"{server.url}/invites/abcdefghjk"), ("GET", f"{server.url}/bans"),
                         ("PUT", f"{server.url}/bans/{alice.id}"), ("DELETE", f"{server.url}/bans/{alice.id}")):
        resp = await client.request(method, path, headers=bob.auth)
        assert resp.status == 404, (method, path)
        assert await resp.json() == {"detail": "server not found"}


async def test_negative_or_absurd_limits_are_a_400_naming_the_field(client, alice, server):
    for body, field in (({"max_age_seconds": -1}, "max_age_seconds"), ({"max_age_seconds": 10**9}, "max_age_seconds"),
                        ({"max_uses": -5}, "max_uses"), ({"max_uses": 10**12}, "max_uses"),
                        ({"max_uses": "ten"}, "max_uses")):
        resp = await client.post(f"{server.url}/invites", json=body, headers=alice.auth)
        assert resp.status == 400, body
        assert (await resp.json())["detail"].endswith(f"at `$.{field}`")


async def test_malformed_ids_are_404_as_elsewhere(client, alice, server):
    for method, path, detail in (("GET", "/chat/servers/nope/invites", "server_id is not a valid id"),
                                 ("PUT", f"{server.url}/bans/nope", "user_id is not a valid id"),
                                 ("POST", "/chat/invites/%E2%9C%93/accept", "invite not found"),
                                 ("GET", "/invites/" + "x" * 100, "invite not found")):
        resp = await client.request(method, path, headers=alice.auth)
        assert resp.status == 404, path
        assert await resp.json() == {"detail": detail}


async def test_anyone_previews_an_open_invite_without_a_token(client, alice, server):
    created = await invite(client, server, alice)
    resp = await client.get(f"/invites/{created['code']}")
    assert resp.status == 200
    assert await resp.json() == {"code": created["code"], "server_id": server.id, "name": "Guild", "icon": None,
                                 "member_count": 1, "expires_at": created["expires_at"]}


async def test_unknown_expired_used_up_and_revoked_codes_are_the_same_404(client, db, alice, bob, server):
    expired = await invite(client, server, alice)
    await db.execute("UPDATE server_invite SET expires_at = now() - interval '1 second' WHERE code = $1",
                     expired["code"])
    used_up = await invite(client, server, alice, max_uses=1)
    assert (await accept(client, bob, used_up["code"])).status == 200
    revoked = await invite(client, server, alice)
    assert (await client.delete(f"{server.url}/invites/{revoked['code']}", headers=alice.auth)).status == 204
    for code in ("unknown234", expired["code"], used_up["code"], revoked["code"]):
        resp = await client.get(f"/invites/{code}")
        assert (resp.status, await resp.json()) == (404, {"detail": "invite not found"}), code
        resp = await accept(client, alice, code)
        assert (resp.status, await resp.json()) == (404, {"detail": "invite not found"}), code


async def test_previews_are_rate_limited_per_client_address(aiohttp_client, config, db, alice):
    from chatd.app import create_app
    from chatd.config import RateLimit

    limited = await aiohttp_client(create_app(config.__class__(**{**config.__dict__,
                                                                  "invite_preview_limit": RateLimit(3, 60.0)})))
    statuses = [(await limited.get("/invites/unknown234")).status for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    resp = await limited.get("/invites/unknown234")
    assert (await resp.json())["detail"] == "too many invite lookups, retry later"
    assert int(resp.headers["Retry-After"]) >= 1


async def test_accepting_joins_as_member_tells_the_server_and_gives_the_joiner_the_server(client, alice, bob, server):
    created = await invite(client, server, alice, max_uses=5)
    a = await connect(client, alice)
    b = await connect(client, bob)
    resp = await accept(client, bob, created["code"])
    assert resp.status == 200
    joined = await resp.json()
    assert joined["id"] == server.id and joined["role"] == "MEMBER" and joined["name"] == "Guild"
    added = await next_event(a, "member_added")
    assert added == {"type": "member_added", "serverId": server.id, "userId": str(bob.id), "username": "bob",
                     "role": "MEMBER"}
    assert (await next_event(b, "server_joined"))["server"] == joined
    resp = await client.get(f"{server.url}/invites", headers=alice.auth)
    assert (await resp.json())[0]["uses"] == 1
    await a.close()
    await b.close()


async def test_accepting_again_as_a_member_answers_the_server_and_uses_nothing(client, alice, bob, server):
    created = await invite(client, server, alice, max_uses=2)
    assert (await accept(client, bob, created["code"])).status == 200
    a = await connect(client, alice)
    for person in (bob, alice):
        resp = await accept(client, person, created["code"])
        assert resp.status == 200
        assert (await resp.json())["id"] == server.id
    await no_event(a, "member_added")
    resp = await client.get(f"{server.url}/invites", headers=alice.auth)
    assert (await resp.json())[0]["uses"] == 1
    await a.close()


async def test_200_concurrent_accepts_of_a_ten_use_invite_make_exactly_ten_members(client, make_user, alice, server):
    created = await invite(client, server, alice, max_uses=10)
    people = [await make_user(f"joiner{n}") for n in range(200)]
    responses = await asyncio.gather(*(accept(client, p, created["code"]) for p in people))
    statuses = [r.status for r in responses]
    assert statuses.count(200) == 10 and statuses.count(404) == 190
    joined = {str(p.id) for p, r in zip(people, responses) if r.status == 200}
    assert await member_ids(client, server, alice) == joined | {str(alice.id)}
    assert (await client.get(f"/invites/{created['code']}")).status == 404  # used up


async def test_invite_events_go_to_admins_and_moderators_only(client, alice, bob, carol, server, add_member):
    await add_member(bob, "MODERATOR")
    await add_member(carol)
    sockets = {p.name: await connect(client, p) for p in (alice, bob, carol)}
    created = await invite(client, server, bob, max_uses=4)
    for name in ("alice", "bob"):
        event = await next_event(sockets[name], "invite_created")
        assert event == {"type": "invite_created", "serverId": server.id, "invite": created}
    assert (await client.delete(f"{server.url}/invites/{created['code']}", headers=alice.auth)).status == 204
    for name in ("alice", "bob"):
        event = await next_event(sockets[name], "invite_deleted")
        assert event == {"type": "invite_deleted", "serverId": server.id, "code": created["code"]}
    await no_event(sockets["carol"], "invite_created", wait=0.3)
    await no_event(sockets["carol"], "invite_deleted", wait=0.3)
    for ws in sockets.values():
        await ws.close()


async def test_a_ban_removes_the_member_and_keeps_them_out_until_lifted(client, alice, bob, carol, server, add_member):
    await add_member(bob)
    created = await invite(client, server, alice)
    c = await connect(client, carol)
    a = await connect(client, alice)
    resp = await client.put(f"{server.url}/bans/{bob.id}", json={"reason": "spam"}, headers=alice.auth)
    assert resp.status == 200
    ban = await resp.json()
    assert (ban["user_id"], ban["username"], ban["reason"], ban["banned_by"]) == (str(bob.id), "bob", "spam",
                                                                                 str(alice.id))
    assert await next_event(a, "member_removed") == {"type": "member_removed", "serverId": server.id,
                                                     "userId": str(bob.id)}
    assert await member_ids(client, server, alice) == {str(alice.id)}
    resp = await accept(client, bob, created["code"])
    assert (resp.status, await resp.json()) == (403, {"detail": "you are banned from this server"})
    resp = await client.post(f"{server.url}/members", json={"user_id": str(bob.id)}, headers=alice.auth)
    assert (resp.status, await resp.json()) == (403, {"detail": "you are banned from this server"})
    assert [b["user_id"] for b in await (await client.get(f"{server.url}/bans", headers=alice.auth)).json()] == [
        str(bob.id)]
    assert (await client.delete(f"{server.url}/bans/{bob.id}", headers=alice.auth)).status == 204
    assert (await client.delete(f"{server.url}/bans/{bob.id}", headers=alice.auth)).status == 404
    assert (await accept(client, bob, created["code"])).status == 200
    await no_event(c, "member_added", wait=0.2)  # carol is in no server of theirs
    await a.close()
    await c.close()


async def test_a_moderator_bans_a_member_but_no_moderator_or_admin(client, make_user, alice, bob, carol, server,
                                                                   add_member):
    dave = await make_user("dave")
    await add_member(bob, "MODERATOR")
    await add_member(carol, "MODERATOR")
    await add_member(dave)
    for target, detail in ((alice, "only an ADMIN can ban an ADMIN"), (carol, "only an ADMIN can ban a MODERATOR")):
        resp = await client.put(f"{server.url}/bans/{target.id}", json={}, headers=bob.auth)
        assert (resp.status, await resp.json()) == (403, {"detail": detail})
    assert (await client.put(f"{server.url}/bans/{dave.id}", headers=bob.auth)).status == 200
    assert (await client.put(f"{server.url}/bans/{carol.id}", headers=alice.auth)).status == 200
    resp = await client.put(f"{server.url}/bans/{alice.id}", headers=alice.auth)
    assert (resp.status, await resp.json()) == (400, {"detail": "you cannot ban yourself"})
    resp = await client.get(f"{server.url}/bans", headers=dave.auth)
    assert resp.status == 404  # dave is out


async def test_a_member_cannot_ban_and_a_ban_of_no_one_is_404(client, alice, bob, carol, server, add_member):
    await add_member(bob)
    resp = await client.put(f"{server.url}/bans/{carol.id}", headers=bob.auth)
    assert (resp.status, await resp.json()) == (403, {"detail": "only a MODERATOR or ADMIN can ban members"})
    resp = await client.put(f"{server.url}/bans/00000000-0000-0000-0000-000000000000", headers=alice.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "user not found"})


async def test_an_accept_that_waits_for_a_ban_in_progress_is_refused_once_it_commits(
        client, db, alice, bob, server, lock_waiters):
    """The ban's transaction holds the server row (as PUT .../bans does) while bob accepts:
    his join waits for it, then sees the ban and lets him in nowhere."""
    created = await invite(client, server, alice)
    async with db.transaction():
        await db.execute("SELECT id FROM chatserver WHERE id = $1 FOR UPDATE", server.id)
        await db.execute("INSERT INTO server_ban (server_id, user_id, banned_by) VALUES ($1, $2, $3)",
                         server.id, bob.id, alice.id)
        accepting = asyncio.ensure_future(accept(client, bob, created["code"]))
        await lock_waiters(1)
    resp = await accepting
    assert (resp.status, await resp.json()) == (403, {"detail": "you are banned from this server"})
    assert await member_ids(client, server, alice) == {str(alice.id)}
