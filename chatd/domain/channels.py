"""Channels of a server."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chatd import keys
from chatd.domain.inputs import stripped
from chatd.domain.schemas import Channel
from chatd.domain.views import channel_view


async def create_channel(app: Mapping, server_id: UUID, name: str, type_: str, position: int | None) -> Channel:
    """Members' sockets hear channel_created on commit. The name is stored stripped."""
    row = await app[keys.notes].emit(
        app[keys.queries].create_channel, app[keys.pool],
        server_id=server_id, name=stripped(name, "name"), type=type_.upper(), position=position,
    )
    return channel_view(row)
