"""JSON in and out with msgspec: one encoder, typed decoding that names the bad field."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from aiohttp import web

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoders: dict[type, msgspec.json.Decoder] = {}


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=encode(value), status=status, content_type="application/json")


def decode(data: bytes, type_: type[T]) -> T:
    """Decode and validate a JSON body, raising ValueError with a client-readable reason."""
    decoder = _decoders.get(type_)
    if decoder is None:
        decoder = _decoders[type_] = msgspec.json.Decoder(type_)
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as error:
        raise ValueError(str(error)) from None
    except msgspec.DecodeError as error:
        raise ValueError(f"body is not valid JSON ({error})") from None


def convert(value: Any, type_: type[T]) -> T:
    """Validate already-parsed data (a form, a WebSocket frame) like a JSON body."""
    try:
        return msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError as error:
        raise ValueError(str(error)) from None
