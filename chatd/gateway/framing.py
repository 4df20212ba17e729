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


def text_frame(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


def close_frame(code: int, reason: bytes) -> bytes:
    """A close frame to write behind already buffered frames (reason at most 123 bytes)."""
    payload = code.to_bytes(2, "big") + reason
    return bytes((0x88, len(payload))) + payload


def frame_payload(frame: bytes) -> memoryview:
    """The payload of a frame built by text_frame, without copying it."""
    marker = frame[1]
    return memoryview(frame)[2 if marker < 126 else 4 if marker == 126 else 10:]
