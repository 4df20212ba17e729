"""Membership and the permission rules: every role against every action, non-members, ids from
elsewhere, leaving, and the last ADMIN."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

ROLES = ["ADMIN", "MODERATOR", "MEMBER"]
SERVER_NOT_FOUND = {"detail": "server not found"}
LAST_ADMIN = {"detail": "the last ADMIN cannot leave or be demoted; make someone else ADMIN first"}
ONLY_ADMIN_CHANNELS = "only an ADMIN can create channels"
ONLY_MODS_ADD = "only a MODERATOR or ADMIN can add members"
ONLY_MODS_REMOVE = "only a MODERATOR or ADMIN can remove members"


async def members(client, server, person) -> list[dict]:
    resp = await client.get(f"{server.url}/members", headers=person.auth)
    assert resp.status == 200
    return await resp.json()


async def roles(client, server, person) -> dict[str, str]:
    return {m["username"]: m["role"] for m in await members(client, server, person)}


async def snapshot(client, server, alice) -> tuple:
    """Everything an action could change, as the server's ADMIN sees it."""
    paths = ["", "/members", "/channels", f"/channels/{server.general}/messages"]
    return tuple([await (await client.get(server.url + path, headers=alice.auth)).json() for path in paths])


# The permission matrix: bob holds `role` in alice's server; carol is the target where there is one.
# Each action returns the response; `setup` gives carol the role the action needs.

async def create_channel(client, server, bob, carol):
    return await client.post(f"{server.url}/channels", json={"name": "new"}, headers=bob.auth)


def add_as(role):
    async def add(client, server, bob, carol):
        return await client.post(f"{server.url}/members", json={"username": "carol", "role": role}, headers=bob.auth)
    return add


async def remove(client, server, bob, carol):
    return await client.delete(f"{server.url}/members/{carol.id}", headers=bob.auth)


async def change_role(client, server, bob, carol):
    return await client.patch(f"{server.url}/members/{carol.id}", json={"role": "MODERATOR"}, headers=bob.auth)


async def delete_server(client, server, bob, carol):
    return await client.delete(server.url, headers=bob.auth)


def read(path):
    async def get(client, server, bob, carol):
        return await client.get(server.url + path.format(general=server.general), headers=bob.auth)
    return get


async def send_message(client, server, bob, carol):
    return await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "hi"},
                             headers=bob.auth)


ACTIONS = {
    # name: (action, carol's role before it or None, expected status per role of bob: ADMIN, MODERATOR, MEMBER)
    "create-channel": (create_channel, None, [201, (403, ONLY_ADMIN_CHANNELS), (403, ONLY_ADMIN_CHANNELS)]),
    "add-as-member": (add_as("MEMBER"), None, [201, 201, (403, ONLY_MODS_ADD)]),
    "add-as-moderator": (add_as("MODERATOR"), None,
                         [201, (403, "only an ADMIN can add a member as MODERATOR"), (403, ONLY_MODS_ADD)]),
    "add-as-admin": (add_as("ADMIN"), None,
                     [201, (403, "only an ADMIN can add a member as ADMIN"), (403, ONLY_MODS_ADD)]),
    "remove-member": (remove, "MEMBER", [204, 204, (403, ONLY_MODS_REMOVE)]),
    "remove-moderator": (remove, "MODERATOR",
                         [204, (403, "only an ADMIN can remove a MODERATOR"), (403, ONLY_MODS_REMOVE)]),
    "remove-admin": (remove, "ADMIN", [204, (403, "only an ADMIN can remove an ADMIN"), (403, ONLY_MODS_REMOVE)]),
    "change-role": (change_role, "MEMBER",
                    [200, (403, "only an ADMIN can change roles"), (403, "only an ADMIN can change roles")]),
    "delete-server": (delete_server, None,
                      [204, (403, "only an ADMIN can delete the server"), (403, "only an ADMIN can delete the server")]),
    "get-server": (read(""), None, [200, 200, 200]),
    "read-channels": (read("/channels"), None, [200, 200, 200]),
    "read-messages": (read("/channels/{general}/messages"), None, [200, 200, 200]),
    "read-members": (read("/members"), None, [200, 200, 200]),
    "send-message": (send_message, None, [201, 201, 201]),
}
MATRIX = [
    pytest.param(name, role, expected, id=f"{role}-{name}")
    for name, (_, _, outcomes) in ACTIONS.items()
    for role, expected in zip(ROLES, outcomes)
]


@pytest.mark.parametrize("action, role, expected", MATRIX)
async def test_each_role_may_do_exactly_what_the_rules_allow(
        client, alice, bob, carol, server, add_member, action, role, expected):
    act, carol_role, _ = ACTIONS[action]
    await add_member(bob, role)
    if carol_role is not None:
        await add_member(carol, carol_role)
    before = await snapshot(client, server, alice)

    resp = await act(client, server, bob, carol)

    if isinstance(expected, tuple):
        status, detail = expected
        assert resp.status == status
        assert await resp.json() == {"detail": detail}
        assert await snapshot(client, server, alice) == before  # a refused action changes nothing
    else:
        assert resp.status == expected, await resp.text()


async def test_an_admin_adding_someone_answers_201_with_the_new_member(client, alice, bob, server):
    resp = await client.post(f"{server.url}/members", json={"username": "bob", "role": "MODERATOR"}, headers=alice.auth)
    assert resp.status == 201
    body = await resp.json()
    assert body == {"user_id": str(bob.id), "username": "bob", "role": "MODERATOR", "joined_at": body["joined_at"]}
    assert (await members(client, server, alice))[1] == body


async def test_a_member_added_by_username_in_another_case_is_shown_with_the_stored_spelling(
    client, alice, make_user, server
):
    dave = await make_user("Dave")
    resp = await client.post(f"{server.url}/members", json={"username": "dAVE"}, headers=alice.auth)
    assert resp.status == 201
    body = await resp.json()
    assert body == {"user_id": str(dave.id), "username": "Dave", "role": "MEMBER", "joined_at": body["joined_at"]}


async def test_a_member_can_be_added_by_user_id_and_is_a_member_by_default(client, alice, bob, server):
    resp = await client.post(f"{server.url}/members", json={"user_id": str(bob.id)}, headers=alice.auth)
    assert resp.status == 201
    body = await resp.json()
    assert body == {"user_id": str(bob.id), "username": "bob", "role": "MEMBER", "joined_at": body["joined_at"]}


async def test_a_moderator_adds_a_member(client, alice, bob, carol, server, add_member):
    await add_member(bob, "MODERATOR")
    resp = await client.post(f"{server.url}/members", json={"user_id": str(carol.id)}, headers=bob.auth)
    assert resp.status == 201
    assert await roles(client, server, alice) == {"alice": "ADMIN", "bob": "MODERATOR", "carol": "MEMBER"}


async def test_an_added_member_sees_the_server(client, alice, bob, server, add_member):
    await add_member(bob)
    listed = await (await client.get("/chat/servers", headers=bob.auth)).json()
    assert [(s["id"], s["role"]) for s in listed] == [(server.id, "MEMBER")]


async def test_the_member_list_holds_everyone_in_the_order_they_joined(client, alice, bob, carol, server, add_member):
    await add_member(carol, "MODERATOR")
    await add_member(bob)
    listed = await members(client, server, bob)
    assert listed == [
        {"user_id": str(alice.id), "username": "alice", "role": "ADMIN", "joined_at": listed[0]["joined_at"]},
        {"user_id": str(carol.id), "username": "carol", "role": "MODERATOR", "joined_at": listed[1]["joined_at"]},
        {"user_id": str(bob.id), "username": "bob", "role": "MEMBER", "joined_at": listed[2]["joined_at"]},
    ]


@pytest.mark.parametrize("body", [{"username": "nobody"}, {"user_id": "00000000-0000-4000-8000-000000000000"}],
                         ids=["by-username", "by-user-id"])
async def test_adding_an_unknown_user_is_404(client, alice, server, body):
    resp = await client.post(f"{server.url}/members", json=body, headers=alice.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "user not found"}


@pytest.mark.parametrize("body", [{}, {"role": "MEMBER"}, {"username": "bob", "user_id": "x"}],
                         ids=["neither", "role-only", "both"])
async def test_adding_needs_exactly_one_of_user_id_and_username(client, alice, bob, server, body):
    if "user_id" in body:
        body = {**body, "user_id": str(bob.id)}
    resp = await client.post(f"{server.url}/members", json=body, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "give exactly one of user_id or username"}


@pytest.mark.parametrize("who, role", [("bob", "MEMBER"), ("bob", "ADMIN"), ("alice", "MEMBER")])
async def test_adding_someone_who_is_already_a_member_is_409_and_keeps_their_role(
        client, alice, bob, server, add_member, who, role):
    await add_member(bob, "MODERATOR")
    resp = await client.post(f"{server.url}/members", json={"username": who, "role": role}, headers=alice.auth)
    assert resp.status == 409
    assert await resp.json() == {"detail": "already a member of this server"}
    assert await roles(client, server, alice) == {"alice": "ADMIN", "bob": "MODERATOR"}


async def test_adding_with_an_unknown_role_is_400(client, alice, bob, server):
    resp = await client.post(f"{server.url}/members", json={"username": "bob", "role": "KING"}, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "Invalid enum value 'KING' - at `$.role`"}


async def test_changing_a_role_answers_200_with_the_member(client, alice, bob, server, add_member):
    await add_member(bob)
    resp = await client.patch(f"{server.url}/members/{bob.id}", json={"role": "MODERATOR"}, headers=alice.auth)
    assert resp.status == 200
    body = await resp.json()
    assert body == {"user_id": str(bob.id), "username": "bob", "role": "MODERATOR", "joined_at": body["joined_at"]}
    assert (await members(client, server, alice))[1] == body
    assert (await (await client.get(server.url, headers=bob.auth)).json())["role"] == "MODERATOR"


async def test_a_member_promoted_to_admin_can_do_what_an_admin_does(client, alice, bob, server, add_member):
    await add_member(bob)
    resp = await client.patch(f"{server.url}/members/{bob.id}", json={"role": "ADMIN"}, headers=alice.auth)
    assert resp.status == 200
    resp = await client.post(f"{server.url}/channels", json={"name": "bobs"}, headers=bob.auth)
    assert resp.status == 201


async def test_a_demoted_admin_loses_the_admin_rights(client, alice, bob, server, add_member):
    await add_member(bob, "ADMIN")
    resp = await client.patch(f"{server.url}/members/{bob.id}", json={"role": "MEMBER"}, headers=alice.auth)
    assert resp.status == 200
    resp = await client.post(f"{server.url}/channels", json={"name": "bobs"}, headers=bob.auth)
    assert resp.status == 403
    assert await resp.json() == {"detail": ONLY_ADMIN_CHANNELS}


@pytest.mark.parametrize("body, detail", [
    ({"role": "KING"}, "Invalid enum value 'KING' - at `$.role`"),
    ({"role": "admin"}, "Invalid enum value 'admin' - at `$.role`"),
    ({}, "Object missing required field `role`"),
    ({"role": "MEMBER", "until": "tomorrow"}, "Object contains unknown field `until`"),
])
async def test_changing_a_role_with_a_bad_body_is_400(client, alice, bob, server, add_member, body, detail):
    await add_member(bob)
    resp = await client.patch(f"{server.url}/members/{bob.id}", json=body, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_changing_or_removing_someone_who_is_not_a_member_is_404(client, alice, bob, server, method):
    for target in (bob.id, uuid4()):
        resp = await client.request(method, f"{server.url}/members/{target}", json={"role": "MEMBER"},
                                    headers=alice.auth)
        assert resp.status == 404
        assert await resp.json() == {"detail": "member not found"}


async def test_a_removed_member_loses_access(client, alice, bob, server, add_member):
    await add_member(bob)
    resp = await client.delete(f"{server.url}/members/{bob.id}", headers=alice.auth)
    assert resp.status == 204
    assert await resp.read() == b""
    resp = await client.get(f"{server.url}/channels", headers=bob.auth)
    assert resp.status == 404
    assert await resp.json() == SERVER_NOT_FOUND
    assert await roles(client, server, alice) == {"alice": "ADMIN"}


@pytest.mark.parametrize("role", ROLES)
async def test_any_member_can_leave(client, alice, bob, server, add_member, role):
    await add_member(bob, role)
    resp = await client.delete(f"{server.url}/members/{bob.id}", headers=bob.auth)
    assert resp.status == 204
    assert await (await client.get("/chat/servers", headers=bob.auth)).json() == []
    assert await roles(client, server, alice) == {"alice": "ADMIN"}


async def test_the_last_admin_cannot_leave(client, alice, bob, server, add_member):
    await add_member(bob, "MODERATOR")
    resp = await client.delete(f"{server.url}/members/{alice.id}", headers=alice.auth)
    assert resp.status == 409
    assert await resp.json() == LAST_ADMIN
    assert await roles(client, server, alice) == {"alice": "ADMIN", "bob": "MODERATOR"}


@pytest.mark.parametrize("role", ["MODERATOR", "MEMBER"])
async def test_the_last_admin_cannot_be_demoted(client, alice, server, role):
    resp = await client.patch(f"{server.url}/members/{alice.id}", json={"role": role}, headers=alice.auth)
    assert resp.status == 409
    assert await resp.json() == LAST_ADMIN
    assert await roles(client, server, alice) == {"alice": "ADMIN"}


async def test_the_last_admin_may_confirm_their_own_role(client, alice, server):
    resp = await client.patch(f"{server.url}/members/{alice.id}", json={"role": "ADMIN"}, headers=alice.auth)
    assert resp.status == 200
    assert (await resp.json())["role"] == "ADMIN"


async def test_an_admin_may_leave_or_step_down_while_another_admin_remains(client, alice, bob, server, add_member):
    await add_member(bob, "ADMIN")
    resp = await client.patch(f"{server.url}/members/{alice.id}", json={"role": "MEMBER"}, headers=alice.auth)
    assert resp.status == 200
    # bob is now the last ADMIN: the rule follows him.
    resp = await client.delete(f"{server.url}/members/{bob.id}", headers=bob.auth)
    assert resp.status == 409
    assert await resp.json() == LAST_ADMIN
    resp = await client.delete(f"{server.url}/members/{alice.id}", headers=alice.auth)
    assert resp.status == 204
    assert await roles(client, server, bob) == {"bob": "ADMIN"}


async def test_an_admin_may_remove_another_admin(client, alice, bob, server, add_member):
    await add_member(bob, "ADMIN")
    resp = await client.delete(f"{server.url}/members/{alice.id}", headers=bob.auth)
    assert resp.status == 204
    assert await roles(client, server, bob) == {"bob": "ADMIN"}


# Non-members: 404 for the server and everything under it, exactly as for a server that
# does not exist.

NON_MEMBER_REQUESTS = [
    ("GET", "", None),
    ("DELETE", "", None),
    ("GET", "/channels", None),
    ("POST", "/channels", {"name": "mine"}),
    ("GET", "/channels/{general}/messages", None),
    ("GET", "/channels/{general}/messages?limit=5&offset=1", None),
    ("POST", "/channels/{general}/messages", {"text": "let me in"}),
    ("GET", "/members", None),
    ("POST", "/members", {"username": "carol"}),
    ("POST", "/members", {"username": "alice"}),
    ("DELETE", "/members/{carol}", None),
    ("DELETE", "/members/{alice}", None),
    ("PATCH", "/members/{carol}", {"role": "ADMIN"}),
    ("PATCH", "/members/{alice}", {"role": "MEMBER"}),
]


@pytest.mark.parametrize("method, path, body", NON_MEMBER_REQUESTS,
                         ids=[f"{m} {p.split('?')[0] or '/'}" for m, p, _ in NON_MEMBER_REQUESTS])
async def test_a_non_member_gets_404_for_the_server_and_everything_under_it(
        client, alice, bob, carol, server, add_member, method, path, body):
    await add_member(bob)
    before = await snapshot(client, server, alice)
    path = path.format(general=server.general, carol=carol.id, alice=alice.id)
    for server_id in (server.id, str(uuid4())):  # a real server and one that does not exist
        resp = await client.request(method, f"/chat/servers/{server_id}{path}", json=body, headers=carol.auth)
        assert resp.status == 404
        assert await resp.json() == SERVER_NOT_FOUND
    assert await snapshot(client, server, alice) == before


async def test_a_non_member_does_not_see_the_server_in_their_list(client, carol, server):
    assert await (await client.get("/chat/servers", headers=carol.auth)).json() == []


@pytest.fixture
async def elsewhere(client, alice) -> str:
    """The `general` channel of a second server of alice's."""
    resp = await client.post("/chat/servers", json={"name": "Elsewhere"}, headers=alice.auth)
    server_id = (await resp.json())["id"]
    return (await (await client.get(f"/chat/servers/{server_id}/channels", headers=alice.auth)).json())[0]["id"]


@pytest.mark.parametrize("method, body", [("GET", None), ("POST", {"text": "misrouted"})])
async def test_a_channel_of_another_server_is_404_under_this_servers_path(
        client, alice, bob, server, add_member, elsewhere, method, body):
    await add_member(bob)
    for person in (alice, bob):  # alice is in both servers, bob only in this one
        for channel_id in (elsewhere, str(uuid4())):
            resp = await client.request(method, f"{server.url}/channels/{channel_id}/messages", json=body,
                                        headers=person.auth)
            assert resp.status == 404
            assert await resp.json() == {"detail": "channel not found"}
    resp = await client.get(f"/chat/servers/{server.id}/channels/{elsewhere}/messages?limit=1", headers=alice.auth)
    assert await resp.json() == {"detail": "channel not found"}
    assert [m["text"] for m in await (await client.get(
        f"{server.url}/channels/{server.general}/messages", headers=alice.auth)).json()] == []


MALFORMED = ["nope", "123", "00000000-0000-4000-8000-00000000000g", "00000000-0000-4000-8000-0000000000000",
             "%20", "1;DROP TABLE chatserver"]


MALFORMED_PATHS = [
    ("GET", "/chat/servers/{bad}", None, "server_id"),
    ("DELETE", "/chat/servers/{bad}", None, "server_id"),
    ("GET", "/chat/servers/{bad}/channels", None, "server_id"),
    ("POST", "/chat/servers/{bad}/channels", {"name": "x"}, "server_id"),
    ("GET", "/chat/servers/{bad}/channels/{general}/messages", None, "server_id"),
    ("GET", "{server}/channels/{bad}/messages", None, "channel_id"),
    ("POST", "{server}/channels/{bad}/messages", {"text": "hi"}, "channel_id"),
    ("GET", "/chat/servers/{bad}/members", None, "server_id"),
    ("POST", "/chat/servers/{bad}/members", {"username": "alice"}, "server_id"),
    ("DELETE", "{server}/members/{bad}", None, "user_id"),
    ("PATCH", "{server}/members/{bad}", {"role": "MEMBER"}, "user_id"),
]


@pytest.mark.parametrize("method, path, body, name", MALFORMED_PATHS,
                         ids=[f"{m} {p.replace('{server}', '/chat/servers/{id}')}" for m, p, _, _ in MALFORMED_PATHS])
async def test_a_malformed_id_in_the_path_is_404(client, alice, server, method, path, body, name):
    for bad in MALFORMED:
        url = path.format(bad=bad, server=server.url, general=server.general)
        resp = await client.request(method, url, json=body, headers=alice.auth)
        assert resp.status == 404, bad
        assert await resp.json() == {"detail": f"{name} is not a valid id"}


@pytest.mark.parametrize("method, body", [("DELETE", None), ("PATCH", {"role": "MEMBER"})],
                         ids=["remove", "demote"])
async def test_two_admins_removing_or_demoting_each_other_at_once_leave_one_admin(
        client, db, test_queries, lock_waiters, alice, bob, server, add_member, method, body):
    await add_member(bob, "ADMIN")
    async with db.transaction():
        # Hold the server row so both requests are queued on it before either goes on.
        await test_queries.hold_server_row(db, server_id=UUID(server.id))
        requests = [
            asyncio.ensure_future(client.request(method, f"{server.url}/members/{target.id}", json=body,
                                                 headers=actor.auth))
            for actor, target in ((alice, bob), (bob, alice))
        ]
        await lock_waiters(2)
    responses = await asyncio.gather(*requests)

    assert sorted(resp.status for resp in responses) == [200 if method == "PATCH" else 204, 409]
    refused = next(resp for resp in responses if resp.status == 409)
    assert await refused.json() == LAST_ADMIN
    remaining = await test_queries.count_admins(db, server_id=UUID(server.id))
    assert remaining == 1
