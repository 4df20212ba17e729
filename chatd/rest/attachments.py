"""Attachments: uploading a file into a channel (or a conversation), and serving a message's file
through its signed link."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from chatd import keys
from chatd.domain import attachments, permissions
from chatd.domain.errors import BadInput, NotFound, TooLarge
from chatd.domain.schemas import UploadedFile
from chatd.store.storage import content_disposition
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.errors import ApiError
from chatd.web.endpoints import Endpoint, PathParam, QueryParam, channel_endpoints
from chatd.web.requests import channel_locator, path_uuid

CHUNK = 256 * 1024  # read from the socket per step: the most an upload holds in memory at once
# Room for the multipart framing around the file (boundaries, part headers): a body whose
# Content-Length exceeds the limit by more cannot hold a file within it.
FRAMING = 16 * 1024
# What aiohttp's multipart reader raises for a body that is not the multipart it expects (no
# boundary, bad part headers, a missing final boundary).
MALFORMED = (ValueError, AssertionError, KeyError, HttpProcessingError)
NO_FILE = "the body must be multipart/form-data with one file in the field `file`"


async def upload(request: web.Request) -> web.Response:
    """The body is read here, part by part and chunk by chunk (request.multipart()), never
    whole: the app's 64 KiB client_max_size applies to request.read() and post() only, and
    this route's limit is CHATD_MAX_UPLOAD instead."""
    user = request[current_user]
    server_id, channel_id = channel_locator(request)
    app = request.app
    limit = app[keys.config].max_upload_bytes
    if request.content_length is not None and request.content_length > limit + FRAMING:
        raise TooLarge(attachments.LIMIT_DETAIL.format(limit=limit))
    await permissions.require_send(app, user, server_id, channel_id)
    try:
        reader = await request.multipart()
        part = await reader.next()
    except MALFORMED:
        raise BadInput(NO_FILE) from None
    if not isinstance(part, BodyPartReader) or part.name != "file" or part.filename is None:
        raise BadInput(NO_FILE)
    uploaded = await attachments.receive_upload(app, user, channel_id, attachments.clean_filename(part.filename),
                                                _chunks(reader, part))
    return json_response(uploaded, status=201)


async def _chunks(reader, part: BodyPartReader) -> AsyncIterator[bytes]:
    """The file's bytes; then the body must end (a second part refuses the upload)."""
    try:
        while chunk := await part.read_chunk(CHUNK):
            yield chunk
        more = await reader.next()
    except MALFORMED:
        raise BadInput(NO_FILE) from None
    if more is not None:
        raise BadInput("one file per upload")


async def serve(request: web.Request) -> web.StreamResponse:
    """A message's file, by the link its message carries: the signature first (403), then the
    file's message must still be there (404). Local files are streamed with Range and ETag
    (FileResponse); a remote store's get a redirect to a short-lived URL of its own."""
    app = request.app
    try:
        attachment_id = path_uuid(request, "attachment_id")
    except NotFound:
        raise NotFound("no such attachment") from None
    app[keys.attachment_urls].check(attachment_id, request.query.get("exp", ""), request.query.get("sig", ""))
    row = await app[keys.queries].get_served_attachment(app[keys.pool], id=attachment_id)
    if row is None:
        raise NotFound("no such attachment")
    content_type, filename = row["content_type"], row["filename"]
    _check_range(request, row["size"])
    inline = attachments.inline(content_type)
    where = await app[keys.storage].locate(row["storage_key"], filename=filename, content_type=content_type,
                                           inline=inline, expires_in=attachments.URL_LIFETIME)
    if isinstance(where, str):
        raise web.HTTPFound(where, headers={"Cache-Control": "private, no-store"})
    return web.FileResponse(where, headers={
        "Content-Type": content_type,
        "Content-Disposition": content_disposition(filename, inline=inline),
        # A file is the uploader's, not chatd's: the browser neither guesses another type for
        # it nor lets it run as a page of this origin (no scripts, no same-origin access).
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, max-age=3600",
    })


def _check_range(request: web.Request, size: int) -> None:
    """FileResponse answers a Range outside the file with an empty 416: this one says why."""
    headers = {"Content-Range": f"bytes */{size}"}
    try:
        wanted = request.http_range
    except ValueError:
        raise ApiError(416, "the Range header is malformed", headers) from None
    if wanted.start is not None and wanted.start >= 0 and wanted.start >= size:
        raise ApiError(416, f"the Range starts past the end of the file ({size} bytes)", headers)


ENDPOINTS = [
    *channel_endpoints("POST", "/attachments", upload,
                       "Upload a file to attach to a message (multipart/form-data, field `file`; at most "
                       "CHATD_MAX_UPLOAD bytes)", "attachments",
                       response=UploadedFile, status=201, errors=(400, 404, 413), dm_errors=(403,), upload=True),
    Endpoint("GET", "/attachments/{attachment_id}/{filename}", serve,
             "A message's file, by the signed link in its `url` (no Authorization needed)", "attachments",
             errors=(403, 404, 416), auth=False,
             redirect="the file in the S3 store (CHATD_STORAGE=s3): a presigned URL, short-lived",
             path_params=(PathParam("filename", {"type": "string"}, "the file's name (any: the id decides)",
                                    r"[^/]+"),),
             query=(QueryParam("exp", {"type": "string"}, "when the link expires (Unix time)"),
                    QueryParam("sig", {"type": "string"}, "the link's signature"))),
]
