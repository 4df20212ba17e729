"""DELETE /auth/me: the account's sessions end, it leaves its servers (members hear
member_removed), its messages stay under a deleted author, and its name is free again; the
last ADMIN of a server must hand it over or delete it first."""

from __future__ import annotations

from conftest import PASSWORD

from test_gateway import connect, next_event, send
from test_sessions import closed_with, me


async def delete_account(client, person, password: str = PASSWORD):
    return await client.delete("/auth/me", json={"password": password}, headers=person.auth)


async def test_deleting_an_account_ends_its_sessions_and_memberships_and_keeps_its_messages(
        client, db, test_queries, alice, bob, server, add_member):
    await add_member(bob)
    bobs, alices = await connect(client, bob), await connect(client, alice)
    await bobs.send_json(send(server, "bye all"))
    posted = await next_event(alices, "new_message")
    resp = await delete_account(client, bob)
    assert resp.status == 204
    assert await closed_with(bobs) == (4401, "token revoked")
    removed = await next_event(alices, "member_removed", timeout=1)
    assert removed == {"type": "member_removed", "serverId": server.id, "userId": str(bob.id)}
    assert await me(client, bob.token) == (401, {"detail": "token names no user"})
    members = await (await client.get(f"{server.url}/members", headers=alice.auth)).json()
    assert [m["username"] for m in members] == ["alice"]
    history = await (await client.get(f"{server.url}/channels/{server.general}/messages", headers=alice.auth)).json()
    assert [(m["id"], m["user_id"], m["user"], m["text"]) for m in history] == [
        (posted["id"], str(bob.id), f"Deleted User {bob.id}", "bye all")]
    account = await test_queries.get_account(db, user_id=bob.id)
    assert dict(account) == {"username": f"Deleted User {bob.id}", "password_hash": None, "email": None,
                             "deleted": True}


async def test_a_deleted_accounts_name_is_free_and_its_old_password_opens_nothing(client, alice, bob):
    assert (await delete_account(client, bob)).status == 204
    login = await client.post("/auth/login", json={"username": "bob", "password": PASSWORD})
    assert (login.status, await login.json()) == (401, {"detail": "wrong username or password"})
    again = await client.post("/auth/register", json={"username": "bob", "password": PASSWORD})
    assert again.status == 201
    new_bob = await again.json()
    assert new_bob["user_id"] != str(bob.id)
    login = await client.post("/auth/login", json={"username": "bob", "password": PASSWORD})
    assert login.status == 200
    assert await me(client, (await login.json())["access_token"]) == (200, new_bob)


async def test_a_deleted_account_cannot_be_added_to_a_server(client, alice, bob, server):
    assert (await delete_account(client, bob)).status == 204
    resp = await client.post(f"{server.url}/members", json={"user_id": str(bob.id)}, headers=alice.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "user not found"})
    resp = await client.post(f"{server.url}/members", json={"username": f"Deleted User {bob.id}"}, headers=alice.auth)
    assert resp.status == 400


async def test_the_last_admin_of_servers_must_hand_them_over_first_and_the_answer_names_them(
        client, db, test_queries, alice, bob, server, add_member):
    second = await (await client.post("/chat/servers", json={"name": "Annex"}, headers=alice.auth)).json()
    await add_member(bob, "ADMIN")  # Guild has another ADMIN; Annex does not
    before = await test_queries.count_rows(db)
    resp = await delete_account(client, alice)
    assert (resp.status, await resp.json()) == (409, {
        "detail": f"you are the last ADMIN of 'Annex' ({second['id']}): make someone else ADMIN or delete it first"})
    assert await test_queries.count_rows(db) == before
    assert (await me(client, alice.token))[0] == 200
    assert (await client.delete(f"/chat/servers/{second['id']}", headers=alice.auth)).status == 204
    assert (await delete_account(client, alice)).status == 204


async def test_the_409_names_every_server_left_without_an_admin(client, alice, server):
    second = await (await client.post("/chat/servers", json={"name": "Annex"}, headers=alice.auth)).json()
    resp = await delete_account(client, alice)
    assert (resp.status, await resp.json()) == (409, {
        "detail": f"you are the last ADMIN of 'Annex' ({second['id']}), 'Guild' ({server.id}): "
                  "make someone else ADMIN or delete them first"})


async def test_deleting_an_account_with_a_wrong_password_is_403_and_changes_nothing(client, db, test_queries, alice,
                                                                                    bob):
    resp = await delete_account(client, bob, "not my password")
    assert (resp.status, await resp.json()) == (403, {"detail": "wrong password"})
    assert (await me(client, bob.token))[0] == 200
    assert (await test_queries.get_account(db, user_id=bob.id))["username"] == "bob"
