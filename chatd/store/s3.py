"""S3Storage: attachments in an S3-compatible store (AWS, MinIO, ...) through aiobotocore.

Uploads stream: a body is cut into 8 MiB parts of one multipart upload, so one part is held
at a time however large the file; a body smaller than one part is a single PutObject. Serving
is a redirect to a presigned GET, so the bytes never pass through chatd on the way out.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from chatd.config import S3Settings
from chatd.domain.errors import StorageUnavailable
from chatd.store.storage import content_disposition

# Every part but the last must be at least 5 MiB (S3's rule); 8 MiB is what the AWS CLI uses.
PART_SIZE = 8 * 1024 * 1024

log = logging.getLogger(__name__)


class S3Storage:
    """One aiobotocore client for the app's lifetime (it holds the connection pool), made on
    first use since open_storage is not a coroutine; `close` closes it."""

    def __init__(self, settings: S3Settings) -> None:
        self._settings = settings
        self._bucket = settings.bucket
        self._exits = AsyncExitStack()
        self._client = None
        self._opening = asyncio.Lock()

    async def _s3(self):
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    self._client = await self._exits.enter_async_context(self._create_client())
        return self._client

    def _create_client(self):
        s = self._settings
        config = AioConfig(
            # A custom endpoint (MinIO, a test server) seldom has DNS for bucket.host names.
            s3={"addressing_style": "path" if s.endpoint else "auto"},
            # botocore >= 1.36 adds CRC checksums to every upload by default, which many
            # S3-compatible stores refuse; S3 itself needs none.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            signature_version="s3v4",  # presigned URLs too (botocore would sign those with the retired v2)
            retries={"mode": "standard"},  # 3 attempts, for the store's occasional 500/503
            connect_timeout=5,
        )
        return get_session().create_client(
            "s3", region_name=s.region, endpoint_url=s.endpoint, aws_access_key_id=s.access_key_id,
            aws_secret_access_key=s.secret_access_key, config=config,
        )

    async def close(self) -> None:
        await self._exits.aclose()
        self._client = None

    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str) -> None:
        """Parts go up as they fill; if the stream or a request fails the multipart upload is
        aborted (cancellation included), so S3 keeps no part of it."""
        with _failures_refused("put", key):
            await self._put(key, chunks, content_type)

    async def _put(self, key: str, chunks: AsyncIterator[bytes], content_type: str) -> None:
        s3 = await self._s3()
        part = io.BytesIO()
        upload_id: str | None = None
        etags: list[dict] = []
        try:
            async for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    room = PART_SIZE - part.tell()
                    part.write(view[:room])
                    view = view[room:]
                    if part.tell() == PART_SIZE:
                        if upload_id is None:
                            upload_id = await self._begin(key, content_type)
                        etags.append(await self._upload_part(key, upload_id, len(etags) + 1, part))
                        part = io.BytesIO()
            if upload_id is None:
                part.seek(0)
                await s3.put_object(Bucket=self._bucket, Key=key, Body=part, ContentType=content_type)
                return
            if part.tell():
                etags.append(await self._upload_part(key, upload_id, len(etags) + 1, part))
            await s3.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": etags})
        except BaseException:
            if upload_id is not None:
                await asyncio.shield(self._abort_quietly(key, upload_id))
            raise

    async def _begin(self, key: str, content_type: str) -> str:
        answer = await (await self._s3()).create_multipart_upload(Bucket=self._bucket, Key=key, ContentType=content_type)
        return answer["UploadId"]

    async def _upload_part(self, key: str, upload_id: str, number: int, body: io.BytesIO) -> dict:
        body.seek(0)
        answer = await (await self._s3()).upload_part(
            Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        return {"ETag": answer["ETag"], "PartNumber": number}

    async def _abort(self, key: str, upload_id: str) -> None:
        await (await self._s3()).abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)

    async def _abort_quietly(self, key: str, upload_id: str) -> None:
        """The upload's own error is the one to raise; a failed abort leaves parts that
        delete(key) (the sweep's) aborts later."""
        try:
            await self._abort(key, upload_id)
        except Exception as error:
            log.warning("event=s3_abort_failed key=%s error=%s", key, _error_name(error))

    async def delete(self, key: str) -> None:
        """The object, and any upload of the key a crashed process left unfinished (its parts
        would otherwise be kept, and billed, forever). An absent key is fine: S3 says 204."""
        with _failures_refused("delete", key):
            await self._delete(key)

    async def _delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self._bucket, Key=key)
        pages = s3.get_paginator("list_multipart_uploads").paginate(Bucket=self._bucket, Prefix=key)
        async for page in pages:
            for upload in page.get("Uploads", ()):
                if upload["Key"] == key:
                    await self._abort(key, upload["UploadId"])

    async def locate(self, key: str, *, filename: str, content_type: str, inline: bool, expires_in: int) -> str:
        """A presigned GET whose answer carries chatd's content type and disposition, whatever
        metadata the object has."""
        disposition = content_disposition(filename, inline=inline)
        with _failures_refused("locate", key):  # signing is local, but finding credentials may fail
            return await (await self._s3()).generate_presigned_url(
                "get_object",
                Params={"Bucket": self._bucket, "Key": key, "ResponseContentType": content_type,
                        "ResponseContentDisposition": disposition},
                ExpiresIn=expires_in,
            )


@contextmanager
def _failures_refused(operation: str, key: str) -> Iterator[None]:
    """The store unreachable or refusing (a wrong bucket, bad credentials) is a 503 for the
    request and a log line naming the cause for the operator, not a 500."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        log.warning("event=s3_failed operation=%s key=%s error=%s", operation, key, _error_name(error))
        raise StorageUnavailable() from error


def _error_name(error: Exception) -> str:
    """S3's error code (NoSuchBucket, AccessDenied, ...) or the exception's class."""
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    return code or type(error).__name__
