async def test_a_member_posts_and_reads_a_message(client, alice, server):
    url = f"{server.url}/channels/{server.general}/messages"
    resp = await client.post(url, json={"text": "hello"}, headers=alice.auth)
    assert resp.status == 201
    page = await (await client.get(url, headers=alice.auth)).json()
    assert [m["text"] for m in page] == ["hello"]
    assert page[0]["user"] == "alice"
