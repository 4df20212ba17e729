"""WebSocket frames as bytes: built once per event and written as they are to every socket."""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()


def encode(event: Any) -> bytes:
    """An event as a complete WebSocket text frame, ready for any socket's transport.

    Server frames are unmasked and chatd does not compress, so one frame's bytes serve every
    recipient: a broadcast is encoded and framed once, then written as is.
    """
    return text_frame(_encoder.encode(event))


# An event's JSON alone: for a frame (text_frame), or in a REST body (GET .../changes). The
# encoder's own method, not a function around it: a resume calls it for every change.
event_json = _encoder.encode


def text_frame(payload: bytes) -> bytes:
    """The header (the shortest length encoding, as RFC 6455 requires) and the payload.
    Built with one concatenation: every event of every socket passes here."""
    size = len(payload)
    if size < _TABLED:
        return _HEADERS[size] + payload
    if size < 1 << 16:
        return (0x817E_0000 | size).to_bytes(4, "big") + payload
    return (0x817F << 64 | size).to_bytes(10, "big") + payload


# The headers of the sizes most events have, looked up (~150 KiB): computing one took as long as
# the rest of framing an event, and a resume frames thousands.
_TABLED = 4096
_HEADERS = [bytes((0x81, size)) if size < 126 else (0x817E_0000 | size).to_bytes(4, "big") for size in range(_TABLED)]


def close_frame(code: int, reason: bytes) -> bytes:
    """A close frame to write behind already buffered frames (reason at most 123 bytes)."""
    payload = code.to_bytes(2, "big") + reason
    return bytes((0x88, len(payload))) + payload

