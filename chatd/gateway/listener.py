"""Every note this process hears, applied to its sockets in commit order.

The listener is the gateway's receiver on the note bus (chatd.domain.notes.NoteBus). Changes to
a channel's content (ChangeNote) all go to the hub's deliver_change, which builds each kind's
event; a change whose note had to leave its text out (too long for NOTIFY) is read back first.
Every other kind of note has one entry in its table of handlers. When the bus tells it notes may
have been missed, it reads the changes committed meanwhile from the database, so connected
clients miss nothing; the hub's per-channel event_seq drops anything sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from uuid import UUID

import msgspec

from chatd import keys
from chatd.domain.layout import get_layout
from chatd.domain.notes import (
    CategoryCreatedNote, CategoryDeletedNote, CategoryRenamedNote, ChannelDeletedNote, ChannelUpdatedNote,
    LayoutNote, LayoutUpdatedNote, ServerUpdatedNote,
)
from chatd.domain.notes import (
    ChangeNote, ChannelCreatedNote, DmCreatedNote, DmRecipientAddedNote, DmRecipientRemovedNote, InviteCreatedNote,
    InviteDeletedNote, MemberAddedNote, MemberRemovedNote, MessageNote, MessageUpdatedNote, Note,
    NotificationSettingsUpdatedNote, PresenceNote, ReadStateUpdatedNote,
    ServerDeletedNote, ThreadActivityNote, ThreadArchivedNote, ThreadCreatedNote, ThreadDeletedNote, ThreadStateNote,
    ThreadUpdatedNote, TokensRevokedNote, TypingNote, decode_note,
)
from chatd.domain.notes import ThreadFollowedNote, ThreadMessagesDeletedNote, ThreadUnfollowedNote
from chatd.domain.dms import dm_view
from chatd.domain.errors import NotFound
from chatd.domain.views import server_profile_view, server_view
from chatd.gateway import outbound
from chatd.gateway.coalesce import Coalescer
from chatd.gateway.hub import room_of
from chatd.store.pool import DB_ERRORS

log = logging.getLogger(__name__)


class CatchUp(msgspec.Struct):
    since: datetime


class Listener:
    def __init__(self, app: Mapping):
        self._app = app
        self._hub = app[keys.hub]
        self._queue: asyncio.Queue[str | CatchUp] = asyncio.Queue()
        self._handlers: dict[type[Note], Callable[[Note], Awaitable[None]]] = {
            MessageNote: self._long_message,
            MessageUpdatedNote: self._stored_change,
            TypingNote: self._typing,
            MemberAddedNote: self._member_added,
            MemberRemovedNote: self._member_removed,
            ChannelCreatedNote: self._channel_created,
            InviteCreatedNote: self._invite_created,
            InviteDeletedNote: self._invite_deleted,
            ServerDeletedNote: self._server_deleted,
            DmCreatedNote: self._dm_created,
            DmRecipientAddedNote: self._dm_recipient_added,
            DmRecipientRemovedNote: self._dm_recipient_removed,
            TokensRevokedNote: self._tokens_revoked,
            ReadStateUpdatedNote: self._read_state_updated,
            NotificationSettingsUpdatedNote: self._notification_settings_updated,
            PresenceNote: self._presence_elsewhere,
            ChannelUpdatedNote: self._channel_updated,
            ChannelDeletedNote: self._channel_deleted,
            ServerUpdatedNote: self._server_updated,
            LayoutUpdatedNote: self._layout_updated,
            CategoryCreatedNote: self._layout_updated,
            CategoryRenamedNote: self._layout_updated,
            CategoryDeletedNote: self._layout_updated,
            ThreadCreatedNote: self._thread_created,
            ThreadUpdatedNote: self._thread_state,
            ThreadActivityNote: self._thread_state,
            ThreadArchivedNote: self._thread_state,
            ThreadMessagesDeletedNote: self._thread_state,
            ThreadFollowedNote: self._thread_followed,
            ThreadUnfollowedNote: self._thread_unfollowed,
            ThreadDeletedNote: self._thread_deleted,
        }
        self._thread_updates: Coalescer[ThreadStateNote] = Coalescer(
            lambda note: self._hub.broadcast(note.server_id, outbound.thread_updated(note)))

    # The bus's Receiver: called from its connection's callbacks, so they only queue.

    def received(self, payload: str) -> None:
        self._queue.put_nowait(payload)

    def missed(self, since: datetime) -> None:
        self._queue.put_nowait(CatchUp(since))

    async def dispatch(self) -> None:
        """One task applies notes in the order PostgreSQL sent them.

        Notes arrive in bursts (a group commit sends several at once). The changes of a burst
        are fanned out corked, so each socket gets its frames of the burst in one write; any
        other note first lets the corked frames go, keeping every socket's order. Between
        bursts the task yields, so incoming frames and commit replies are not held behind a
        long fan-out.
        """
        hub = self._hub
        while True:
            burst = [await self._queue.get()]
            await asyncio.sleep(0)  # first whatever else woke with this burst: the commit's reply starts the next batch
            while not self._queue.empty():
                burst.append(self._queue.get_nowait())
            hub.cork()
            try:
                for item in burst:
                    await self._dispatch_one(item)
            finally:
                hub.uncork()
            await asyncio.sleep(0)

    async def _dispatch_one(self, item: str | CatchUp) -> None:
        hub = self._hub
        try:
            note = item if isinstance(item, CatchUp) else decode_note(item)
            if isinstance(note, ChangeNote) and note.complete and not self._needs_followers(note):
                self._deliver(note)  # the common case, corked with the rest of the burst
                return
            if isinstance(note, PresenceNote) and note.servers is not None and note.peers is not None:
                hub.deliver_presence(note, note.servers, note.peers)  # corked too
                return
            hub.uncork()  # what may wait (a read, a catch-up) or is not a change goes after the burst so far
            try:
                if isinstance(note, CatchUp):
                    await self._catch_up(note.since)
                elif isinstance(note, ChangeNote) and note.complete:
                    await self._deliver_read(note)
                else:
                    await self._handlers[type(note)](note)
            finally:
                hub.cork()
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("event=bad_note")
        except DB_ERRORS as error:
            log.warning("event=note_failed error=%s", type(error).__name__)
        except Exception:
            # This task delivers every event of the process: one bad note must not end it.
            log.exception("event=note_failed")

    def _deliver(self, note: ChangeNote) -> None:
        if isinstance(note, MessageNote):
            self._app[keys.metrics].notification_lag.observe(max(0.0, time.time() - note.created_at.timestamp()))
            note = self._app[keys.attachment_urls].signed(note)
        if self._hub.deliver_change(note) and isinstance(note, (MessageNote, MessageUpdatedNote)):
            self._hub.notifier.deliver(note)

    def _needs_followers(self, note: ChangeNote) -> bool:
        return isinstance(note, (MessageNote, MessageUpdatedNote)) and self._hub.notifier.needs_followers(note)

    async def _deliver_read(self, note: ChangeNote) -> None:
        """Deliver a complete change, after reading its thread's followers if its
        notifications need them (chatd.gateway.notifier). If they cannot be read, the message
        still goes out, and notifies only those it names."""
        if self._needs_followers(note):
            app = self._app
            try:
                row = await app[keys.queries].get_thread_followers(app[keys.pool], channel_id=note.channel_id)
            except DB_ERRORS as error:
                log.warning("event=followers_unread channel_id=%s error=%s", note.channel_id, type(error).__name__)
            else:
                if row is not None:  # else gone with its channel
                    self._hub.notifier.learn_followers(note.channel_id, row["thread"], row["followers"])
        self._deliver(note)

    # One handler per kind of note.

    async def _long_message(self, note: MessageNote) -> None:
        """A message whose text was too long for its note: read it."""
        app = self._app
        row = await app[keys.queries].get_message(app[keys.pool], message_id=note.id)
        if row is not None:  # else deleted (with its server or channel) before we could read it
            # The stored note has the text; this one, the files (which made the text not fit).
            await self._deliver_read(msgspec.structs.replace(decode_note(row["note"]), attachments=note.attachments))

    async def _stored_change(self, note: ChangeNote) -> None:
        """A change whose note left its text out: its stored note has it."""
        app = self._app
        payload = await app[keys.queries].get_change(app[keys.pool], channel_id=note.channel_id,
                                                     event_seq=note.event_seq)
        if payload is not None:  # else pruned, or gone with its channel
            await self._deliver_read(decode_note(payload))  # type: ignore[arg-type]

    async def _typing(self, note: TypingNote) -> None:
        self._hub.broadcast(room_of(note.server_id, note.channel_id), outbound.typing(note), exclude_user=note.user_id)

    async def _member_added(self, note: MemberAddedNote) -> None:
        hub = self._hub
        hub.subscribe(note.user_id, note.server_id)  # the new member hears of it too
        hub.broadcast(note.server_id, outbound.member_added(note))
        if note.user_id in hub.active_connections:  # the joiner's sockets get the server, as `connected` lists it
            app = self._app
            row = await app[keys.queries].get_server_for_member(app[keys.pool], server_id=note.server_id,
                                                               user_id=note.user_id)
            if row is not None:  # else gone again
                hub.send_personal(note.user_id, outbound.server_joined(server_view(row)))

    async def _member_removed(self, note: MemberRemovedNote) -> None:
        self._hub.broadcast(note.server_id, outbound.member_removed(note))  # the removed one too
        self._hub.unsubscribe(note.user_id, note.server_id)

    async def _channel_created(self, note: ChannelCreatedNote) -> None:
        self._hub.broadcast(note.server_id, outbound.channel_created(note))

    async def _channel_updated(self, note: ChannelUpdatedNote) -> None:
        self._hub.broadcast(note.server_id, outbound.channel_updated(note))

    async def _channel_deleted(self, note: ChannelDeletedNote) -> None:
        self._hub.broadcast(note.server_id, outbound.channel_deleted(note.server_id, note.channel_id))

    async def _server_updated(self, note: ServerUpdatedNote) -> None:
        """Read once per process, for its sockets in the server (the note carries only the id)."""
        if not self._hub.serves(note.server_id):
            return
        app = self._app
        row = await app[keys.queries].get_server_profile(app[keys.pool], server_id=note.server_id)
        if row is not None:  # else deleted meanwhile
            self._hub.broadcast(note.server_id, outbound.server_updated(server_profile_view(row)))

    async def _layout_updated(self, note: LayoutNote) -> None:
        """Every change of the layout (a category made, renamed or deleted, a reorder): the
        layout as it is now, read once per process for its sockets in the server. Changes
        close together may each send the latest layout; its version says which is newest."""
        if not self._hub.serves(note.server_id):
            return
        try:
            layout = await get_layout(self._app, note.server_id)
        except NotFound:  # deleted meanwhile
            return
        self._hub.broadcast(note.server_id, outbound.layout_updated(note.server_id, layout))

    async def _invite_created(self, note: InviteCreatedNote) -> None:
        await self._to_staff(note.server_id, outbound.invite_created(note))

    async def _invite_deleted(self, note: InviteDeletedNote) -> None:
        await self._to_staff(note.server_id, outbound.invite_deleted(note))

    async def _to_staff(self, server_id: UUID, frame: bytes) -> None:
        """To the server's ADMINs and MODERATORs connected here: roles are read when needed
        (the hub knows who is in a server, not their roles, which change without a note)."""
        if not self._hub.serves(server_id):
            return
        app = self._app
        staff = [row["user_id"] async for row in app[keys.queries].list_server_staff(app[keys.pool],
                                                                                   server_id=server_id)]
        self._hub.send_to_members(server_id, staff, frame)

    async def _server_deleted(self, note: ServerDeletedNote) -> None:
        self._hub.broadcast(note.server_id, outbound.server_deleted(note))
        self._hub.drop_room(note.server_id)

    async def _dm_created(self, note: DmCreatedNote) -> None:
        """Everyone in the new conversation hears it, and its events from now on."""
        hub, frame = self._hub, outbound.dm_created(note.dm)
        for person in note.dm.recipients:
            hub.subscribe(person.id, note.dm.id)
            hub.send_personal(person.id, frame)

    async def _dm_recipient_added(self, note: DmRecipientAddedNote) -> None:
        hub = self._hub
        hub.subscribe(note.user_id, note.dm_id)  # the one added hears of it too
        hub.broadcast(note.dm_id, outbound.dm_recipient_added(note))
        if note.user_id in hub.active_connections:  # and gets the conversation, as dm_created carries it
            app = self._app
            text = await app[keys.queries].get_dm(app[keys.pool], channel_id=note.dm_id, user_id=note.user_id)
            if text is not None:  # else gone again
                hub.send_personal(note.user_id, outbound.dm_created(dm_view(text)))

    async def _dm_recipient_removed(self, note: DmRecipientRemovedNote) -> None:
        self._hub.broadcast(note.dm_id, outbound.dm_recipient_removed(note))  # the removed one too
        self._hub.unsubscribe(note.user_id, note.dm_id)

    async def _presence_elsewhere(self, note: PresenceNote) -> None:
        """A presence change whose rooms did not fit its note: read them."""
        app = self._app
        row = await app[keys.queries].get_presence_rooms(app[keys.pool], user_id=note.user_id)
        self._hub.deliver_presence(note, row["servers"], row["peers"])

    async def _tokens_revoked(self, note: TokensRevokedNote) -> None:
        self._hub.revoke_tokens(note)

    async def _read_state_updated(self, note: ReadStateUpdatedNote) -> None:
        """To the reader's sockets but the one that acked, so every device shows the same badges."""
        self._hub.send_personal(note.user_id, outbound.read_state_updated(note), exclude_origin=note.origin)

    async def _thread_created(self, note: ThreadCreatedNote) -> None:
        self._hub.broadcast(note.server_id, outbound.thread_created(note))

    async def _thread_state(self, note: ThreadStateNote) -> None:
        """Every member of the server, at most once a second per thread (chatd.gateway.coalesce)."""
        self._thread_updates.offer(note.thread_id, note)

    async def _thread_deleted(self, note: ThreadDeletedNote) -> None:
        self._hub.broadcast(note.server_id, outbound.thread_deleted(note))

    async def _thread_followed(self, note: ThreadFollowedNote) -> None:
        self._hub.notifier.followed(note)

    async def _thread_unfollowed(self, note: ThreadUnfollowedNote) -> None:
        self._hub.notifier.unfollowed(note)

    async def _notification_settings_updated(self, note: NotificationSettingsUpdatedNote) -> None:
        """The user's sockets here decide with the new setting from now on, and show it."""
        self._hub.notifier.update(note)
        self._hub.send_personal(note.user_id, outbound.notification_settings_updated(note))

    async def _catch_up(self, since: datetime) -> None:
        app = self._app
        self._hub.notifier.forget_followers()  # the follows missed meanwhile are not replayed
        rooms = self._hub.room_ids()
        if not rooms:
            return
        rows = app[keys.queries].list_changes_of_servers_since(app[keys.pool], server_ids=rooms, since=since)
        async for row in rows:
            self._hub.deliver_change(decode_note(row["note"]))  # type: ignore[arg-type]
