"""S3Storage against a real S3-compatible server (moto's, on loopback): streamed multipart
uploads that leave nothing behind when they fail, deletion of leftovers, and presigned GETs."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc

import aiohttp
import botocore.exceptions
import pytest

from chatd.config import Config, ConfigError, S3Settings
from chatd.store.s3 import PART_SIZE, S3Storage, content_disposition
from chatd.store.storage import LocalStorage, open_storage

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


async def test_a_refused_part_raises_the_stores_error_even_when_the_abort_fails_too(
        s3_storage, s3_client, s3_settings, caplog):
    """Here the upload vanished under the writer (as after someone else's abort): the part's
    error is what the caller sees; the failed abort is only logged."""
    bucket = s3_settings.bucket

    async def the_upload_vanishes_after_one_part():
        yield b"v" * PART_SIZE
        [upload] = (await s3_client.list_multipart_uploads(Bucket=bucket))["Uploads"]
        await s3_client.abort_multipart_upload(Bucket=bucket, Key=KEY, UploadId=upload["UploadId"])
        yield b"v" * PART_SIZE

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        await s3_storage.put(KEY, the_upload_vanishes_after_one_part(), "text/plain")
    assert raised.value.operation_name == "UploadPart"  # S3 says NoSuchUpload; moto, 500
    assert [r.getMessage() for r in caplog.records if r.name == "chatd.store.s3"] == [
        f"event=s3_abort_failed key={KEY} error=NoSuchUpload"]
    assert await leftovers(s3_client, bucket) == ([], [])


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
