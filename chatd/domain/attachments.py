"""Attachments: an upload received in constant memory, signed links to files, and files deleted
once their rows are gone.

An upload's row is written before its bytes (size NULL: nothing can attach it yet), the bytes
go to storage (chatd.store.storage) as they arrive, and the row is completed with what was
learnt on the way: the size, the type detected from the first bytes, an image's dimensions.
A failure on the way (over the limit, the client gone, a second file) deletes the row; a
process that dies on the way leaves the row to the sweep. Either way the key goes through the
trash (migration 0022), which is how every file is deleted: after the commit that deleted its
row, by whoever committed it, and by the sweep for what a crash left there.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import hmac
import io
import logging
import time
import unicodedata
from collections.abc import AsyncIterator, Mapping
from urllib.parse import quote
from uuid import UUID, uuid4

import filetype
import msgspec
from PIL import Image

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import Forbidden, NotFound, TooLarge
from chatd.domain.notes import AttachmentNote, MessageNote, decode_attachments
from chatd.domain.schemas import Attachment, UploadedFile, User

log = logging.getLogger(__name__)

SNIFF_BYTES = 8192  # what the type is detected from (filetype reads at most 8 KiB)
# An image's dimensions are read from its header, which lies within its first MiB for the
# formats people post (a JPEG's EXIF segments are at most 64 KiB each); the pixels are never
# decoded, so a "decompression bomb" costs nothing, and larger claims are not believed.
IMAGE_HEAD = 1024 * 1024
MAX_IMAGE_PIXELS = 200_000_000
URL_LIFETIME = 3600  # seconds a signed link works
MAX_FILENAME = 100
TRASH_BATCH = 100
OCTET_STREAM = "application/octet-stream"
LIMIT_DETAIL = "the file is larger than the upload limit of {limit} bytes"


class UrlSigner:
    """Links to attachments that work without an Authorization header (an <img src>), for an
    hour: HMAC-SHA256 of the id and the expiry, with a key derived from the app's secret key
    for this use alone."""

    def __init__(self, secret_key: str):
        self._key = hashlib.sha256(b"chatd attachment links\x00" + secret_key.encode()).digest()

    def url(self, attachment_id: UUID, filename: str) -> str:
        expires = int(time.time()) + URL_LIFETIME
        return f"/attachments/{attachment_id}/{quote(filename, safe='')}?exp={expires}&sig={self._sign(attachment_id, expires)}"

    def check(self, attachment_id: UUID, expires: str, signature: str) -> None:
        """403 for a link that was altered or has expired (told apart by nothing)."""
        # ASCII digits only: str.isdigit() also takes "¹", which int() refuses; and the
        # signatures compared as bytes: compare_digest refuses non-ASCII strings.
        if not (expires.isascii() and expires.isdigit()) or len(expires) > 12 or not hmac.compare_digest(
                self._sign(attachment_id, int(expires)).encode(), signature.encode()) or int(expires) < time.time():
            raise Forbidden("this link is invalid or has expired")

    def _sign(self, attachment_id: UUID, expires: int) -> str:
        return hmac.new(self._key, f"{attachment_id}.{expires}".encode(), hashlib.sha256).hexdigest()

    def attachments(self, stored: str | None) -> list[Attachment]:
        """message_attachments' JSON (migration 0022) as a reader gets it: with links."""
        return [Attachment(id=a.id, filename=a.filename, content_type=a.content_type, size=a.size, width=a.width,
                           height=a.height, url=self.url(a.id, a.filename))
                for a in decode_attachments(stored) or ()]

    def signed(self, note: MessageNote) -> MessageNote:
        """A message's note with a link on each file, for the frames built from it."""
        if not note.attachments:
            return note
        return msgspec.structs.replace(note, attachments=self.signed_files(note.attachments))

    def signed_files(self, files: list[AttachmentNote]) -> list[AttachmentNote]:
        """Each file with its link."""
        return [msgspec.structs.replace(a, url=self.url(a.id, a.filename)) for a in files]


def clean_filename(raw: str | None) -> str:
    """A name safe in a header and a path segment: the last path component, without control
    characters, quotes or backslashes, at most 100 characters (the extension kept)."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c)[0] != "C" and c not in '"\\;').strip().lstrip(".")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:MAX_FILENAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 16 else name[:MAX_FILENAME]
    return name or "file"


def inline(content_type: str) -> bool:
    """Images are shown in the page; everything else is downloaded."""
    return content_type.startswith("image/")


async def receive_upload(app: Mapping, user: User, channel_id: UUID, filename: str,
                         chunks: AsyncIterator[bytes]) -> UploadedFile:
    """Store one file uploaded into a channel (permissions.require_send said the user may send
    there). `chunks` raising (TooLarge from here, the client gone, a refusal of the rest of the
    request) leaves no row and no file."""
    queries, pool = app[keys.queries], app[keys.pool]
    attachment_id = uuid4()
    key = f"{attachment_id.hex[:2]}/{attachment_id.hex}"
    await queries.create_upload(pool, id=attachment_id, uploader_id=user.user_id, channel_id=channel_id,
                                storage_key=key, filename=filename)
    received = _Received(app[keys.config].max_upload_bytes)
    try:
        head = await received.head(chunks)
        detected = filetype.guess_mime(head)
        await app[keys.storage].put(key, received.stream(head, chunks), detected or OCTET_STREAM)
    except BaseException:
        await asyncio.shield(_forget_upload(app, attachment_id))
        raise
    content_type = detected or ("text/plain; charset=utf-8" if received.utf8 else OCTET_STREAM)
    width = height = None
    if detected is not None and detected.startswith("image/"):
        width, height = await asyncio.to_thread(image_size, bytes(received.image_head))
    row = await queries.finish_upload(pool, id=attachment_id, content_type=content_type, size=received.size,
                                      width=width, height=height)
    if row is None:  # its channel (or the uploader) went meanwhile: the trash has its key
        await delete_trashed_files(app)
        raise NotFound(permissions.CHANNEL_NOT_FOUND)
    return UploadedFile(**row)


def image_size(head: bytes) -> tuple[int | None, int | None]:
    """Width and height from an image's header, or (None, None): not decoded, so bounded."""
    try:
        with Image.open(io.BytesIO(head)) as image:
            width, height = image.size
    except Exception:  # not an image Pillow reads, a header past the first MiB, a bomb's claim
        return None, None
    if width * height > MAX_IMAGE_PIXELS:
        return None, None
    return width, height


class _Received:
    """What passes through while an upload streams: its size (refused past `limit`), whether it
    is all UTF-8 text, and an image's first MiB."""

    def __init__(self, limit: int):
        self.limit = limit
        self.size = 0
        self.utf8 = True
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.image_head = bytearray()

    def _count(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(LIMIT_DETAIL.format(limit=self.limit))
        if self.utf8:
            try:
                self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self.utf8 = False
        if len(self.image_head) < IMAGE_HEAD:
            self.image_head += chunk[:IMAGE_HEAD - len(self.image_head)]

    async def head(self, chunks: AsyncIterator[bytes]) -> bytes:
        """The first SNIFF_BYTES (fewer: the whole file)."""
        head = bytearray()
        async for chunk in chunks:
            self._count(chunk)
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        return bytes(head)

    async def stream(self, head: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if head:
            yield head
        async for chunk in chunks:
            self._count(chunk)
            yield chunk
        if self.utf8:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:  # ends mid-character
                self.utf8 = False


async def _forget_upload(app: Mapping, attachment_id: UUID) -> None:
    await app[keys.queries].delete_upload(app[keys.pool], id=attachment_id)
    await delete_trashed_files(app)


async def delete_trashed_files(app: Mapping) -> None:
    """Delete from storage the files whose rows are gone (attachment_trash), a batch per
    transaction: a key leaves the trash only once its file is deleted."""
    queries, pool, storage = app[keys.queries], app[keys.pool], app[keys.storage]
    while True:
        async with pool.acquire() as con, con.transaction():
            trashed = [row["storage_key"] async for row in queries.take_trash(con, lim=TRASH_BATCH)]
            for key in trashed:
                await storage.delete(key)
            await queries.forget_trash(con, storage_keys=trashed)
        if len(trashed) < TRASH_BATCH:
            return


async def files_deleted_after(app: Mapping) -> None:
    """After a commit that may have deleted attachments (a message, a server, an account):
    their files go now. A failure is logged, not raised: the commit stands, and the sweep
    deletes what is left in the trash."""
    try:
        await delete_trashed_files(app)
    except Exception as error:
        log.warning("event=file_deletion_failed error=%s", type(error).__name__)


async def sweep_uploads(app: Mapping) -> None:
    """Uploads not attached within CHATD_UPLOAD_TTL go, with their files (and any file the
    trash still holds)."""
    swept = await app[keys.queries].sweep_uploads(app[keys.pool], ttl=app[keys.config].upload_ttl)
    if swept:
        log.info("event=uploads_swept count=%d", swept)
    await files_deleted_after(app)
