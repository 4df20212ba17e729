"""S3Storage against a real S3-compatible server (moto's, on loopback): streamed multipart
uploads that leave nothing behind when they fail, deletion of leftovers, and presigned GETs."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest

from chatd.app import create_app
from chatd.config import Config, ConfigError, S3Settings
from chatd.domain.errors import StorageUnavailable
from chatd.ops.sweeps import sweep_uploads
from chatd.store.s3 import PART_SIZE, S3Storage
from chatd.store.storage import LocalStorage, content_disposition, open_storage
from tests.conftest import PASSWORD
from tests.s3server import free_port

from test_attachments import channel, png, send, upload, uploaded

KEY = "ab/abcdef0123456789"


async def stream(data: bytes, chunk: int = 64 * 1024 + 7, fail_after: int | None = None):
    """`data` in odd-sized chunks, like a multipart reader's; raises once `fail_after` bytes are out."""
    for start in range(0, len(data), chunk):
        if fail_after is not None and start >= fail_after:
            raise ConnectionResetError("the client went away")
        yield data[start:start + chunk]


async def leftovers(s3_client, bucket: str) -> tuple[list[str], list[str]]:
    """The bucket's objects and its unfinished multipart uploads, by key."""
    objects = await s3_client.list_objects_v2(Bucket=bucket)
    uploads = await s3_client.list_multipart_uploads(Bucket=bucket)
    return [o["Key"] for o in objects.get("Contents", ())], [u["Key"] for u in uploads.get("Uploads", ())]


async def read_object(s3_client, bucket: str, key: str) -> tuple[bytes, str, str]:
    answer = await s3_client.get_object(Bucket=bucket, Key=key)
    async with answer["Body"] as body:
        return await body.read(), answer["ContentType"], answer["ETag"].strip('"')


async def test_a_body_under_one_part_is_one_plain_object(s3_storage, s3_client, s3_settings):
    data = b"hello, bucket\n" * 1000
    await s3_storage.put(KEY, stream(data), "text/plain")
    body, content_type, etag = await read_object(s3_client, s3_settings.bucket, KEY)
    assert (body, content_type) == (data, "text/plain")
    assert etag == hashlib.md5(data).hexdigest()  # a multipart upload's ETag ends in -<parts>
    assert await leftovers(s3_client, s3_settings.bucket) == ([KEY], [])


async def test_an_empty_body_is_an_empty_object(s3_storage, s3_client, s3_settings):
    await s3_storage.put(KEY, stream(b""), "application/octet-stream")
    assert (await read_object(s3_client, s3_settings.bucket, KEY))[:2] == (b"", "application/octet-stream")


async def test_a_body_over_one_part_goes_up_in_8_mib_parts(s3_storage, s3_client, s3_settings):
    data = bytes(range(256)) * (2 * PART_SIZE // 256) + b"tail"  # two full parts and four bytes
    await s3_storage.put(KEY, stream(data), "video/mp4")
    body, content_type, etag = await read_object(s3_client, s3_settings.bucket, KEY)
    assert body == data
    assert content_type == "video/mp4"
    assert etag.endswith("-3")
    first = await s3_client.head_object(Bucket=s3_settings.bucket, Key=KEY, PartNumber=1)
    assert first["ContentLength"] == PART_SIZE
    assert await leftovers(s3_client, s3_settings.bucket) == ([KEY], [])


async def test_a_body_of_exactly_one_part_is_a_multipart_upload_of_one_part(s3_storage, s3_client, s3_settings):
    data = b"x" * PART_SIZE
    await s3_storage.put(KEY, stream(data, chunk=PART_SIZE), "application/octet-stream")
    body, _, etag = await read_object(s3_client, s3_settings.bucket, KEY)
    assert (body, etag.endswith("-1")) == (data, True)


async def test_an_upload_holds_less_than_two_parts_in_memory_however_large(s3_storage, s3_client, s3_settings):
    chunk = b"z" * (256 * 1024)

    async def forty_mib():
        for _ in range(40 * 4):
            yield chunk

    await s3_storage.locate(KEY, filename="x", content_type="x/y", inline=True, expires_in=1)  # loads botocore's S3 model
    tracemalloc.start()
    try:
        await s3_storage.put(KEY, forty_mib(), "application/octet-stream")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (await s3_client.head_object(Bucket=s3_settings.bucket, Key=KEY))["ContentLength"] == 40 * 1024 * 1024
    assert peak < 2 * PART_SIZE, f"peak {peak / 2**20:.1f} MiB while uploading 40 MiB"


@pytest.mark.parametrize("fail_after", [100_000, PART_SIZE + 100_000, 2 * PART_SIZE + 100_000],
                         ids=["before-the-first-part", "after-one-part", "after-two-parts"])
async def test_a_stream_that_fails_midway_leaves_nothing_and_the_error_is_raised(
        s3_storage, s3_client, s3_settings, fail_after):
    data = b"y" * (3 * PART_SIZE)
    with pytest.raises(ConnectionResetError, match="the client went away"):
        await s3_storage.put(KEY, stream(data, fail_after=fail_after), "image/png")
    assert await leftovers(s3_client, s3_settings.bucket) == ([], [])


async def test_a_cancelled_upload_leaves_nothing(s3_storage, s3_client, s3_settings):
    second_part_started = asyncio.Event()

    async def slow():
        yield b"w" * (PART_SIZE + 1)
        second_part_started.set()
        await asyncio.sleep(3600)
        yield b"never"

    task = asyncio.create_task(s3_storage.put(KEY, slow(), "text/plain"))
    await second_part_started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await leftovers(s3_client, s3_settings.bucket) == ([], [])


async def test_a_refused_part_is_storage_unavailable_even_when_the_abort_fails_too(
        s3_storage, s3_client, s3_settings, caplog):
    """Here the upload vanished under the writer (as after someone else's abort): the part's
    error is what the caller sees, as a 503's refusal; the failed abort is only logged."""
    bucket = s3_settings.bucket

    async def the_upload_vanishes_after_one_part():
        yield b"v" * PART_SIZE
        [upload] = (await s3_client.list_multipart_uploads(Bucket=bucket))["Uploads"]
        await s3_client.abort_multipart_upload(Bucket=bucket, Key=KEY, UploadId=upload["UploadId"])
        yield b"v" * PART_SIZE

    with pytest.raises(StorageUnavailable) as raised:
        await s3_storage.put(KEY, the_upload_vanishes_after_one_part(), "text/plain")
    assert raised.value.detail == "file storage unavailable, retry shortly"
    assert raised.value.__cause__.operation_name == "UploadPart"  # S3 says NoSuchUpload; moto, 500
    logged = [r.getMessage() for r in caplog.records if r.name == "chatd.store.s3"]
    assert logged[0] == f"event=s3_abort_failed key={KEY} error=NoSuchUpload"
    assert logged[1].startswith(f"event=s3_failed operation=put key={KEY} error=")
    assert await leftovers(s3_client, bucket) == ([], [])


async def test_an_unreachable_store_is_storage_unavailable_and_logged(s3_settings, caplog):
    storage = S3Storage(replace(s3_settings, endpoint=f"http://127.0.0.1:{free_port()}"))
    try:
        with pytest.raises(StorageUnavailable):
            await storage.delete(KEY)
    finally:
        await storage.close()
    assert [r.getMessage() for r in caplog.records if r.name == "chatd.store.s3"] == [
        f"event=s3_failed operation=delete key={KEY} error=EndpointConnectionError"]


async def test_delete_removes_the_object_and_only_that_keys_unfinished_uploads(s3_storage, s3_client, s3_settings):
    bucket = s3_settings.bucket
    await s3_storage.put(KEY, stream(b"data"), "text/plain")
    await s3_client.create_multipart_upload(Bucket=bucket, Key=KEY)  # a crashed process's
    await s3_client.create_multipart_upload(Bucket=bucket, Key=KEY + "0")  # shares KEY as a prefix
    await s3_storage.put("cd/other", stream(b"other"), "text/plain")
    await s3_storage.delete(KEY)
    assert await leftovers(s3_client, bucket) == (["cd/other"], [KEY + "0"])


async def test_deleting_an_absent_key_is_fine(s3_storage, s3_client, s3_settings):
    await s3_storage.delete("no/such-key")
    assert await leftovers(s3_client, s3_settings.bucket) == ([], [])


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "attachment"])
async def test_the_presigned_url_answers_the_bytes_with_chatds_type_and_disposition(s3_storage, inline):
    data = b"<html><script>alert(1)</script></html>"
    await s3_storage.put(KEY, stream(data), "application/octet-stream")
    url = await s3_storage.locate(KEY, filename="r\u00e9sum\u00e9 \"1\".html", content_type="text/plain",
                                  inline=inline, expires_in=60)
    assert isinstance(url, str) and "X-Amz-Signature=" in url
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        assert await resp.read() == data
        assert resp.headers["Content-Type"] == "text/plain"
        kind = "inline" if inline else "attachment"
        assert resp.headers["Content-Disposition"] == (
            f"{kind}; filename=\"r_sum_ _1_.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.html")


async def test_a_presigned_url_carries_its_expiry(s3_storage):
    url = await s3_storage.locate(KEY, filename="a.png", content_type="image/png", inline=True, expires_in=300)
    assert "X-Amz-Expires=300" in url


def test_content_disposition_is_ascii_whatever_the_name():
    header = content_disposition("\u65e5\u672c\u8a9e\r\n.txt", inline=False)
    assert header == "attachment; filename=\"_____.txt\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%0D%0A.txt"
    assert header.isascii()


# -- Settings ------------------------------------------------------------------------------------


def test_the_s3_settings_are_read_with_chatd_storage_s3():
    config = Config.from_env(environ={
        "CHATD_STORAGE": "S3", "CHATD_S3_BUCKET": "chatd-files", "CHATD_S3_ENDPOINT": "http://127.0.0.1:9000",
        "CHATD_S3_REGION": "eu-central-1", "CHATD_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "CHATD_S3_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG"}, dotenv=None)
    assert config.storage == "s3"
    assert config.s3 == S3Settings(bucket="chatd-files", endpoint="http://127.0.0.1:9000", region="eu-central-1",
                                   access_key_id="AKIAEXAMPLE", secret_access_key="wJalrXUtnFEMI/K7MDENG")
    assert "wJalrXUtnFEMI" not in repr(config)
    assert isinstance(open_storage(config), S3Storage)


def test_a_bucket_alone_means_aws_in_us_east_1_with_botocores_own_credentials():
    config = Config.from_env(environ={"CHATD_STORAGE": "s3", "CHATD_S3_BUCKET": "b"}, dotenv=None)
    assert config.s3 == S3Settings(bucket="b", endpoint=None, region="us-east-1", access_key_id=None,
                                   secret_access_key=None)


def test_the_s3_settings_are_ignored_with_local_storage():
    config = Config.from_env(environ={"CHATD_S3_BUCKET": "b", "CHATD_S3_ENDPOINT": "nonsense"}, dotenv=None)
    assert (config.storage, config.s3) == ("local", None)
    assert isinstance(open_storage(config), LocalStorage)


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "CHATD_S3_BUCKET is required when CHATD_STORAGE=s3"),
    ({"CHATD_S3_BUCKET": "  "}, "CHATD_S3_BUCKET is required when CHATD_STORAGE=s3"),
    ({"CHATD_S3_BUCKET": "b", "CHATD_S3_ENDPOINT": "127.0.0.1:9000"},
     "CHATD_S3_ENDPOINT='127.0.0.1:9000' is not an http:// or https:// URL"),
    ({"CHATD_S3_BUCKET": "b", "CHATD_S3_ACCESS_KEY_ID": "AKIAEXAMPLE"},
     "CHATD_S3_ACCESS_KEY_ID and CHATD_S3_SECRET_ACCESS_KEY are set together or not at all"),
    ({"CHATD_S3_BUCKET": "b", "CHATD_S3_SECRET_ACCESS_KEY": "secret"},
     "CHATD_S3_ACCESS_KEY_ID and CHATD_S3_SECRET_ACCESS_KEY are set together or not at all"),
], ids=["no-bucket", "blank-bucket", "endpoint-without-scheme", "key-id-alone", "secret-alone"])
def test_bad_s3_settings_stop_startup_naming_the_variable(settings, message):
    with pytest.raises(ConfigError) as raised:
        Config.from_env(environ={"CHATD_STORAGE": "s3", **settings}, dotenv=None)
    assert str(raised.value) == message


# -- The routes with CHATD_STORAGE=s3 ------------------------------------------------------------


@pytest.fixture
async def s3_client_app(aiohttp_client, config, db, s3_settings):
    """chatd with CHATD_STORAGE=s3 on the test's bucket."""
    return await aiohttp_client(create_app(replace(config, storage="s3", s3=s3_settings)))


async def follow(resp) -> tuple[bytes, dict]:
    """The presigned URL a serve redirected to, fetched as a browser would (no Authorization)."""
    assert resp.status == 302, await resp.text()
    assert resp.headers["Cache-Control"] == "private, no-store"
    async with aiohttp.ClientSession() as http, http.get(resp.headers["Location"]) as fetched:
        assert fetched.status == 200
        return await fetched.read(), dict(fetched.headers)


async def test_files_go_to_the_bucket_and_are_served_by_redirect_to_a_presigned_url(
        s3_client_app, s3_client, s3_settings, alice, server):
    client = s3_client_app
    picture = await uploaded(client, server, alice, png(4, 3), "p.png")
    assert (picture["width"], picture["height"]) == (4, 3)
    big = "é, and more text\n".encode() * 550_000  # 9.4 MiB: two parts
    notes = await uploaded(client, server, alice, big, "notes.txt")
    assert (notes["size"], notes["content_type"]) == (len(big), "text/plain; charset=utf-8")
    [shown_picture, shown_notes] = (await (await send(client, server, alice, [picture["id"], notes["id"]])).json())[
        "attachments"]

    body, headers = await follow(await client.get(shown_picture["url"], allow_redirects=False))
    assert (body, headers["Content-Type"]) == (png(4, 3), "image/png")
    assert headers["Content-Disposition"] == "inline; filename=\"p.png\"; filename*=UTF-8''p.png"
    body, headers = await follow(await client.get(shown_notes["url"], allow_redirects=False))
    assert (body, headers["Content-Type"]) == (big, "text/plain; charset=utf-8")
    assert headers["Content-Disposition"] == "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
    objects, uploads = await leftovers(s3_client, s3_settings.bucket)
    assert (len(objects), uploads) == (2, [])
    # The redirect is an answer /openapi.json gives the route, with its Location.
    doc = await (await client.get("/openapi.json")).json()
    found = doc["paths"]["/attachments/{attachment_id}/{filename}"]["get"]["responses"]["302"]
    assert found["headers"]["Location"]["schema"] == {"type": "string", "format": "uri"}


async def test_a_tampered_link_is_403_before_any_redirect(s3_client_app, alice, server):
    file = await uploaded(s3_client_app, server, alice, b"secret")
    url = (await (await send(s3_client_app, server, alice, [file["id"]])).json())["attachments"][0]["url"]
    resp = await s3_client_app.get(url.replace("sig=", "sig=0"), allow_redirects=False)
    assert resp.status == 403
    assert await resp.json() == {"detail": "this link is invalid or has expired"}


async def test_an_upload_over_the_limit_after_a_part_went_up_is_413_and_leaves_nothing_in_the_bucket(
        aiohttp_client, config, db, s3_settings, s3_client, alice, server):
    config = replace(config, storage="s3", s3=s3_settings, max_upload_bytes=PART_SIZE + 100_000)
    client = await aiohttp_client(create_app(config))

    async def endless():  # no Content-Length: refused while streaming, a part already stored
        for _ in range(200):
            yield b"y" * 65_536

    form = aiohttp.MultipartWriter("form-data")
    form.append(endless()).set_content_disposition("form-data", name="file", filename="big.bin")
    resp = await client.post(f"{channel(server)}/attachments", data=form, headers=alice.auth)
    assert resp.status == 413
    assert await resp.json() == {"detail": f"the file is larger than the upload limit of {PART_SIZE + 100_000} bytes"}
    assert await leftovers(s3_client, s3_settings.bucket) == ([], [])
    assert await db.fetchval("SELECT count(*) FROM attachment") == 0


async def test_uploading_to_a_bucket_that_is_not_there_is_503_logged_with_s3s_reason_and_keeps_no_row(
        aiohttp_client, config, db, s3_settings, alice, server, caplog):
    client = await aiohttp_client(create_app(replace(config, storage="s3",
                                                     s3=replace(s3_settings, bucket="chatd-not-made"))))
    resp = await upload(client, channel(server), alice, b"x" * 1000)
    assert resp.status == 503
    assert await resp.json() == {"detail": "file storage unavailable, retry shortly"}
    assert resp.headers["Retry-After"] == "5"
    assert await db.fetchval("SELECT count(*) FROM attachment") == 0
    assert "event=s3_failed operation=put key=" in caplog.text and "error=NoSuchBucket" in caplog.text


async def test_a_second_file_after_the_first_is_400_and_leaves_nothing_in_the_bucket(
        s3_client_app, s3_client, s3_settings, alice, server):
    form = aiohttp.FormData()
    form.add_field("file", b"one" * 1000, filename="1.txt")
    form.add_field("file", b"two", filename="2.txt")
    resp = await s3_client_app.post(f"{channel(server)}/attachments", data=form, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "one file per upload"}
    assert await leftovers(s3_client, s3_settings.bucket) == ([], [])


async def test_deleting_a_message_a_server_or_an_account_deletes_their_objects(
        s3_client_app, s3_client, s3_settings, alice, bob, server, add_member):
    client, bucket = s3_client_app, s3_settings.bucket
    await add_member(bob)
    message = await (await send(client, server, alice, [(await uploaded(client, server, alice, b"doomed"))["id"]])).json()
    await uploaded(client, server, bob, b"bob's upload")
    await uploaded(client, server, alice, b"alice's upload")
    assert len((await leftovers(s3_client, bucket))[0]) == 3
    assert (await client.delete(f"{channel(server)}/messages/{message['id']}", headers=alice.auth)).status == 204
    assert len((await leftovers(s3_client, bucket))[0]) == 2
    resp = await client.get(message["attachments"][0]["url"], allow_redirects=False)
    assert resp.status == 404
    resp = await client.request("DELETE", "/auth/me", json={"password": PASSWORD}, headers=bob.auth)
    assert resp.status == 204, await resp.text()
    assert len((await leftovers(s3_client, bucket))[0]) == 1
    assert (await client.delete(server.url, headers=alice.auth)).status == 204
    assert await leftovers(s3_client, bucket) == ([], [])


async def test_the_sweep_deletes_unattached_objects_and_the_parts_a_crash_left(
        aiohttp_client, config, db, s3_settings, s3_client, alice, server):
    bucket = s3_settings.bucket
    client = await aiohttp_client(create_app(replace(config, storage="s3", s3=s3_settings,
                                                     upload_ttl=timedelta(seconds=1))))
    kept = await uploaded(client, server, alice, b"attached")
    assert (await send(client, server, alice, [kept["id"]])).status == 201
    await uploaded(client, server, alice, b"never attached")
    # A process that died mid-upload: its row in progress and a multipart upload with a part.
    await db.execute("INSERT INTO attachment (id, uploader_id, channel_id, storage_key, filename) "
                     "VALUES (gen_random_uuid(), $1, $2, 'zz/crashed', 'c.bin')", alice.id, server.general)
    crashed = await s3_client.create_multipart_upload(Bucket=bucket, Key="zz/crashed")
    await s3_client.upload_part(Bucket=bucket, Key="zz/crashed", UploadId=crashed["UploadId"], PartNumber=1,
                                Body=b"half")
    assert [len(found) for found in await leftovers(s3_client, bucket)] == [2, 1]
    await asyncio.sleep(1.1)
    await sweep_uploads(client.app)
    assert await leftovers(s3_client, bucket) == ([kept_key(kept)], [])
    assert await db.fetchval("SELECT count(*) FROM attachment") == 1


def kept_key(uploaded_file: dict) -> str:
    """The storage key chatd gives an upload (chatd.domain.attachments.receive_upload)."""
    hex_id = uploaded_file["id"].replace("-", "")
    return f"{hex_id[:2]}/{hex_id}"


async def test_both_backends_name_a_file_the_same_way(client, s3_client_app, alice, server):
    """The local file's answer and the presigned one carry one Content-Disposition."""
    answers = []
    for app_client in (client, s3_client_app):
        form = aiohttp.MultipartWriter("form-data")
        part = form.append(b"cv")
        # As a browser sends it (aiohttp's FormData would percent-encode the name).
        part.headers["Content-Disposition"] = 'form-data; name="file"; filename="r\u00e9sum\u00e9 2026.txt"'
        resp = await app_client.post(f"{channel(server)}/attachments", data=form, headers=alice.auth)
        assert resp.status == 201, await resp.text()
        message = await (await send(app_client, server, alice, [(await resp.json())["id"]])).json()
        resp = await app_client.get(message["attachments"][0]["url"], allow_redirects=False)
        answers.append(resp.headers["Content-Disposition"] if resp.status == 200 else (await follow(resp))[1][
            "Content-Disposition"])
    assert answers == ["attachment; filename=\"r_sum_ 2026.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202026.txt"] * 2
