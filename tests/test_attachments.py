"""Attachments on local disk: uploads streamed to storage, attached by a send, served by signed
links, and deleted with what they belong to; every bad input a 4xx with nothing left behind."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest
from PIL import Image

from chatd.app import create_app
from chatd.domain.attachments import UrlSigner, clean_filename
from chatd.ops.sweeps import sweep_uploads
from chatd.store.storage import LocalStorage

from test_gateway import connect, next_event


def png(width: int = 3, height: int = 2) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(out, "PNG")
    return out.getvalue()


def files_in(config) -> list[str]:
    root = config.upload_path
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def upload(client, where: str, person, data: bytes, filename: str = "a.bin"):
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type="application/x-whatever")
    return await client.post(f"{where}/attachments", data=form, headers=person.auth)


def channel(server) -> str:
    return f"{server.url}/channels/{server.general}"


async def uploaded(client, server, person, data: bytes, filename: str = "a.bin") -> dict:
    resp = await upload(client, channel(server), person, data, filename)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def send(client, server, person, ids, text: str = ""):
    return await client.post(f"{channel(server)}/messages", json={"text": text, "attachment_ids": ids},
                             headers=person.auth)


def test_a_filename_keeps_its_last_component_without_what_breaks_a_header():
    assert [clean_filename(name) for name in ("../../etc/pic\\ture;\"x\".png", "a" * 300 + ".png", "", "..hidden",
                                              "ok\x01.txt")] == ["turex.png", "a" * 96 + ".png", "file", "hidden",
                                                                 "ok.txt"]


async def test_an_image_upload_has_its_detected_type_and_dimensions(client, alice, server):
    body = await uploaded(client, server, alice, png(3, 2), "pic.png")
    assert {k: body[k] for k in ("filename", "content_type", "size", "width", "height")} == {
        "filename": "pic.png", "content_type": "image/png", "size": len(png(3, 2)), "width": 3, "height": 2}


async def test_text_is_text_plain_and_other_bytes_octet_stream_whatever_the_client_says(client, alice, server):
    assert (await uploaded(client, server, alice, "héllo\n".encode()))["content_type"] == "text/plain; charset=utf-8"
    assert (await uploaded(client, server, alice, b"\xff\xfe\x00garbage"))["content_type"] == "application/octet-stream"


async def test_a_message_with_files_shows_them_in_the_answer_history_and_its_event(client, alice, bob, server,
                                                                                   add_member):
    await add_member(bob)
    ws = await connect(client, bob)
    image = await uploaded(client, server, alice, png(), "p.png")
    text = await uploaded(client, server, alice, b"notes", "n.txt")
    resp = await send(client, server, alice, [image["id"], text["id"]])
    assert resp.status == 201, await resp.text()
    answer = await resp.json()
    assert answer["text"] == ""
    assert [a["filename"] for a in answer["attachments"]] == ["p.png", "n.txt"]
    event = await next_event(ws, "new_message")
    assert [a["id"] for a in event["attachments"]] == [image["id"], text["id"]]
    history = await (await client.get(f"{channel(server)}/messages", headers=bob.auth)).json()
    shown = history[-1]["attachments"]
    assert [a["content_type"] for a in shown] == ["image/png", "text/plain; charset=utf-8"]
    resp = await client.get(shown[1]["url"])  # no Authorization: the link is the permission
    assert resp.status == 200
    assert await resp.read() == b"notes"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "sandbox"
    assert resp.headers["Cache-Control"].startswith("private")
    resp = await client.patch(f"{channel(server)}/messages/{answer['id']}", json={"text": "now with words"},
                              headers=alice.auth)
    assert [a["id"] for a in (await resp.json())["attachments"]] == [image["id"], text["id"]]
    resp = await client.get(event["attachments"][0]["url"])
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Content-Disposition"].startswith("inline;")
    await ws.close()


async def test_a_file_is_served_in_ranges_and_by_etag(client, alice, server):
    data = bytes(range(256)) * 40
    file = await uploaded(client, server, alice, data)
    url = (await (await send(client, server, alice, [file["id"]])).json())["attachments"][0]["url"]
    resp = await client.get(url, headers={"Range": "bytes=10-19"})
    assert resp.status == 206
    assert await resp.read() == data[10:20]
    etag = (await client.get(url)).headers["ETag"]
    assert (await client.get(url, headers={"If-None-Match": etag})).status == 304
    resp = await client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert resp.status == 416
    assert await resp.json() == {"detail": f"the Range starts past the end of the file ({len(data)} bytes)"}


async def test_a_tampered_or_expired_link_is_403(client, alice, server, config):
    file = await uploaded(client, server, alice, b"secret")
    url = (await (await send(client, server, alice, [file["id"]])).json())["attachments"][0]["url"]
    resp = await client.get(url.replace("sig=", "sig=0"))
    assert resp.status == 403
    assert await resp.json() == {"detail": "this link is invalid or has expired"}
    signer = UrlSigner(config.secret_key)
    expired = int(time.time()) - 1
    resp = await client.get(f"/attachments/{file['id']}/x?exp={expired}&sig={signer._sign(file['id'], expired)}")
    assert resp.status == 403
    other = UrlSigner("another key").url(file["id"], "x")
    assert (await client.get(other)).status == 403
    # Not digits as int() reads them, or a signature that is no ASCII: refused alike, not a 500.
    for query in ({"exp": "¹", "sig": "0"}, {"exp": str(expired + 3600), "sig": "é"}):
        resp = await client.get(f"/attachments/{file['id']}/x", params=query)
        assert (resp.status, await resp.json()) == (403, {"detail": "this link is invalid or has expired"})


async def test_sending_someone_elses_another_channels_or_a_used_upload_is_refused_and_stores_nothing(
        client, alice, bob, server, add_member):
    await add_member(bob)
    bobs = await uploaded(client, server, bob, b"bob's")
    resp = await send(client, server, alice, [bobs["id"]], "mine?")
    assert resp.status == 400
    assert await resp.json() == {"detail": "attachment_ids must name your own uploads to this channel, "
                                           "not attached to a message yet"}
    resp = await client.post(f"{server.url}/channels", json={"name": "other"}, headers=alice.auth)
    other = (await resp.json())["id"]
    resp = await upload(client, f"{server.url}/channels/{other}", alice, b"elsewhere")
    assert (await send(client, server, alice, [(await resp.json())["id"]])).status == 400
    mine = await uploaded(client, server, alice, b"once")
    assert (await send(client, server, alice, [mine["id"]])).status == 201
    assert (await send(client, server, alice, [mine["id"]], "again")).status == 400
    history = await (await client.get(f"{channel(server)}/messages", headers=alice.auth)).json()
    assert [m["text"] for m in history] == [""]


async def test_two_sends_racing_for_one_upload_attach_it_once(client, alice, server):
    file = await uploaded(client, server, alice, b"contested")
    statuses = sorted([r.status for r in await asyncio.gather(*(send(client, server, alice, [file["id"]], f"m{i}")
                                                                 for i in range(4)))])
    assert statuses == [201, 400, 400, 400]


async def test_an_upload_without_a_file_part_or_with_two_files_is_400_and_keeps_nothing(client, alice, server,
                                                                                       config):
    form = aiohttp.FormData()
    form.add_field("note", "no file here")
    resp = await client.post(f"{channel(server)}/attachments", data=form, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "the body must be multipart/form-data with one file in the field `file`"}
    resp = await client.post(f"{channel(server)}/attachments", json={"file": "x"}, headers=alice.auth)
    assert resp.status == 400
    form = aiohttp.FormData()
    form.add_field("file", b"one", filename="1.txt")
    form.add_field("file", b"two", filename="2.txt")
    resp = await client.post(f"{channel(server)}/attachments", data=form, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "one file per upload"}
    assert files_in(config) == []


async def test_an_upload_over_the_limit_is_413_and_keeps_nothing(aiohttp_client, config, alice, server, db):
    config = replace(config, max_upload_bytes=100_000)
    client = await aiohttp_client(create_app(config))
    resp = await upload(client, channel(server), alice, b"x" * 100_001)
    assert resp.status == 413
    assert await resp.json() == {"detail": "the file is larger than the upload limit of 100000 bytes"}

    async def endless():  # no Content-Length: refused while streaming
        for _ in range(100):
            yield b"y" * 10_000
    form = aiohttp.MultipartWriter("form-data")
    part = form.append(endless())
    part.set_content_disposition("form-data", name="file", filename="big.bin")
    resp = await client.post(f"{channel(server)}/attachments", data=form, headers=alice.auth)
    assert resp.status == 413
    assert files_in(config) == []
    assert await db.fetchval("SELECT count(*) FROM attachment") == 0
    assert (await upload(client, channel(server), alice, b"x" * 100_000)).status == 201


async def test_uploading_where_you_cannot_send_is_404_for_outsiders(client, alice, bob, server):
    resp = await upload(client, channel(server), bob, b"x")
    assert resp.status == 404
    assert await resp.json() == {"detail": "server not found"}


async def test_uploading_into_a_conversation_works_and_a_blocked_one_is_403(client, alice, bob, server, add_member):
    await add_member(bob)
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id)]}, headers=alice.auth)
    dm = (await resp.json())["id"]
    resp = await upload(client, f"/chat/dms/{dm}", alice, b"hi bob")
    assert resp.status == 201
    assert (await client.put(f"/chat/users/@me/blocks/{alice.id}", headers=bob.auth)).status in (200, 204)
    resp = await upload(client, f"/chat/dms/{dm}", alice, b"hi again")
    assert resp.status == 403


async def test_deleting_the_message_deletes_its_file_and_its_link_is_404(client, alice, server, config):
    file = await uploaded(client, server, alice, b"doomed")
    message = await (await send(client, server, alice, [file["id"]])).json()
    assert len(files_in(config)) == 1
    resp = await client.delete(f"{channel(server)}/messages/{message['id']}", headers=alice.auth)
    assert resp.status == 204
    assert files_in(config) == []
    resp = await client.get(message["attachments"][0]["url"])
    assert resp.status == 404
    assert await resp.json() == {"detail": "no such attachment"}


async def test_deleting_the_server_or_the_account_deletes_their_files(client, alice, bob, server, add_member, config,
                                                                      make_user):
    await add_member(bob)
    await uploaded(client, server, bob, b"bob's upload")
    await uploaded(client, server, alice, b"alice's upload")
    assert len(files_in(config)) == 2
    from tests.conftest import PASSWORD
    resp = await client.request("DELETE", "/auth/me", json={"password": PASSWORD}, headers=bob.auth)
    assert resp.status == 204, await resp.text()
    assert len(files_in(config)) == 1
    assert (await client.delete(server.url, headers=alice.auth)).status == 204
    assert files_in(config) == []


async def test_the_sweep_deletes_unattached_uploads_and_what_a_crash_left(aiohttp_client, config, alice, server, db):
    config = replace(config, upload_ttl=timedelta(seconds=1))
    client = await aiohttp_client(create_app(config))
    kept = await uploaded(client, server, alice, b"attached")
    assert (await send(client, server, alice, [kept["id"]])).status == 201
    await uploaded(client, server, alice, b"never attached")
    # A process that died mid-upload: its row in progress and its partial file.
    await db.execute("INSERT INTO attachment (id, uploader_id, channel_id, storage_key, filename) "
                     "VALUES (gen_random_uuid(), $1, $2, 'zz/crashed', 'c.bin')", alice.id, server.general)
    (config.upload_path / "zz").mkdir()
    (config.upload_path / "zz" / "crashed.part").write_bytes(b"half")
    assert len(files_in(config)) == 3
    await asyncio.sleep(1.1)
    await sweep_uploads(client.app)
    assert len(files_in(config)) == 1
    assert await db.fetchval("SELECT count(*) FROM attachment") == 1


async def test_search_has_attachment_and_mention(client, alice, server, db):
    file = await uploaded(client, server, alice, b"x")
    assert (await send(client, server, alice, [file["id"]], "kiwi with a file")).status == 201
    assert (await send(client, server, alice, [], "kiwi plain")).status == 201
    assert (await send(client, server, alice, [], "kiwi for @everyone")).status == 201
    await db.execute("UPDATE chatmessage SET mention_everyone = true WHERE text = 'kiwi for @everyone'")

    async def found(has: str) -> list[str]:
        resp = await client.get(f"/chat/search?q=kiwi&has={has}", headers=alice.auth)
        assert resp.status == 200, await resp.text()
        return [r["text"] for r in (await resp.json())["results"]]

    assert await found("attachment") == ["kiwi with a file"]
    assert await found("mention") == ["kiwi for @everyone"]


async def test_search_filters_with_malformed_ids_are_400(client, alice):
    for name in ("server_id", "channel_id", "dm_id", "author_id"):
        resp = await client.get(f"/chat/search?q=x&{name}=nope", headers=alice.auth)
        assert resp.status == 400
        assert await resp.json() == {"detail": f"{name} is not a valid id"}


async def test_a_replayed_message_carries_its_files_with_links(client, alice, server):
    file = await uploaded(client, server, alice, b"replayed")
    assert (await send(client, server, alice, [file["id"]])).status == 201
    changes = await (await client.get(f"{channel(server)}/changes", headers=alice.auth)).json()
    [replayed] = [c["attachments"] for c in changes if c["type"] == "new_message"]
    assert [a["id"] for a in replayed] == [file["id"]]
    assert await (await client.get(replayed[0]["url"])).read() == b"replayed"


async def test_the_original_resume_replays_a_message_with_its_files(client, alice, server):
    """`resume {serverId, channelId, afterSeq}` replays what a live client got: files and links."""
    file = await uploaded(client, server, alice, b"resumed")
    assert (await send(client, server, alice, [file["id"]])).status == 201
    ws = await connect(client, alice)
    await ws.send_json({"type": "resume", "serverId": server.id, "channelId": server.general, "afterSeq": 0})
    replayed = (await next_event(ws, "new_message"))["attachments"]
    assert [a["id"] for a in replayed] == [file["id"]]
    assert await (await client.get(replayed[0]["url"])).read() == b"resumed"


async def test_a_resume_of_channels_replays_a_message_with_its_files_as_it_was_delivered_live(client, alice, server):
    """The replay builds a new message from its row: its files as the live event had them, each
    with a fresh link."""
    file = await uploaded(client, server, alice, b"replayed live")
    live = await connect(client, alice)
    assert (await send(client, server, alice, [file["id"]], "with a file")).status == 201
    delivered = await next_event(live, "new_message")
    ws = await connect(client, alice)
    await ws.send_json({"type": "resume", "channels": {server.general: 0}})
    replayed = await next_event(ws, "new_message")
    assert [a.pop("url").split("?")[0] for a in replayed["attachments"]] == [
        a.pop("url").split("?")[0] for a in delivered["attachments"]]
    assert replayed == delivered


# -- The local backend's writer: a batch goes to the disk while the next one is received ---------


def local_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_a_local_upload_is_whole_under_its_key_and_one_failing_or_cancelled_midway_leaves_nothing(tmp_path):
    storage = LocalStorage(tmp_path)
    blocks = [bytes([n]) * 300_000 for n in range(10)]  # 3 MB: writes under way while more arrives

    async def stream(fail_at: int | None = None, stall_at: int | None = None, stalled=None):
        for n, block in enumerate(blocks):
            if n == fail_at:
                raise ConnectionResetError("the client went away")
            if n == stall_at:
                stalled.set()
                await asyncio.sleep(3600)
            yield block

    await storage.put("ab/whole", stream(), "application/octet-stream")
    assert (tmp_path / "ab" / "whole").read_bytes() == b"".join(blocks)
    with pytest.raises(ConnectionResetError, match="the client went away"):
        await storage.put("ab/failed", stream(fail_at=8), "application/octet-stream")
    stalled = asyncio.Event()
    task = asyncio.create_task(storage.put("ab/cancelled", stream(stall_at=8, stalled=stalled),
                                           "application/octet-stream"))
    await stalled.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert local_files(tmp_path) == ["ab/whole"]
