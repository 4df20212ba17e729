"""What a person typed: surrounding whitespace is not part of it, and what remains must not be
blank. One rule for message text and for server and channel names, over REST and WebSocket."""

from __future__ import annotations

from chatd.domain.errors import BadInput


def stripped(value: str, field: str) -> str:
    """`value` without surrounding whitespace; 400 naming `field` when nothing remains."""
    value = value.strip()
    if not value:
        raise BadInput(f"{field} must not be blank")
    return value
