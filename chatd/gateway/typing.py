"""Typing indicators: published to every process, and stopped for the typist after 10 s of
silence, on sending a message, or when their socket goes away."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from uuid import UUID

from chatd import keys
from chatd.domain.notes import TypingNote
from chatd.domain.schemas import User

log = logging.getLogger(__name__)

EXPIRY_SECONDS = 10.0


class TypingTracker:
    def __init__(self, app: Mapping):
        self._app = app
        self._active: dict[tuple[UUID, UUID], tuple[asyncio.TimerHandle, UUID, object]] = {}

    async def start(self, user: User, server_id: UUID, channel_id: UUID, owner: object) -> None:
        key = (user.user_id, channel_id)
        previous = self._active.get(key)
        if previous is not None:
            previous[0].cancel()
        timer = asyncio.get_running_loop().call_later(
            EXPIRY_SECONDS, lambda: asyncio.ensure_future(self._stop_unawaited(user, server_id, channel_id))
        )
        self._active[key] = (timer, server_id, owner)
        await self._app[keys.notes].publish(TypingNote(True, server_id, channel_id, user.user_id, user.username))

    async def stop(self, user: User, server_id: UUID, channel_id: UUID) -> None:
        """typing_stop, once, if the user was typing there."""
        entry = self._active.pop((user.user_id, channel_id), None)
        if entry is not None:
            entry[0].cancel()
            await self._app[keys.notes].publish(TypingNote(False, server_id, channel_id, user.user_id, user.username))

    async def _stop_unawaited(self, user: User, server_id: UUID, channel_id: UUID) -> None:
        """A stop nobody is answered for (the timer's, a closed socket's): a failure is logged
        here, not lost, and a database that is away is an outage noticed, not a traceback."""
        try:
            await self.stop(user, server_id, channel_id)
        except Exception as error:
            if not self._app[keys.availability].noticed(error):
                log.exception("event=typing_expiry_failed user_id=%s", user.user_id)

    async def forget(self, user: User, owner: object) -> None:
        """The socket that started these is gone."""
        for (user_id, channel_id), (_timer, server_id, who) in list(self._active.items()):
            if who is owner:
                await self._stop_unawaited(user, server_id, channel_id)
