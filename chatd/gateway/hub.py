"""The product spec's ConnectionManager for one process: who is connected, and fan-out to them.

Events reach the hub from the listener (every process hears every commit); the hub hands each
socket a complete frame (chatd.gateway.outbound) without waiting (Connection.send) and never
awaits a socket. A frame is encoded once per broadcast (a change: once per time zone in use),
never once per recipient.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from chatd.domain.notes import ChangeNote, PresenceNote, TokensRevokedNote
from chatd.domain.tokens import TOKEN_REVOKED, Claims
from chatd.gateway import outbound
from chatd.gateway.connection import UNAUTHORIZED, Connection
from chatd.gateway.notifier import Notifier

if TYPE_CHECKING:
    from chatd.ops.metrics import Metrics

def room_of(server_id: UUID | None, channel_id: UUID) -> UUID:
    """The room that hears a channel: its server, or the conversation itself (no server)."""
    return channel_id if server_id is None else server_id


# How long a revocation is remembered for the connects whose lookup it may have missed.
REVOCATIONS_KEPT_SECONDS = 60.0


class Hub:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics
        self.active_connections: dict[UUID, set[Connection]] = {}
        self._by_room: dict[UUID, set[Connection]] = {}  # room -> its sockets
        self.channel_seq: dict[UUID, int] = {}  # highest event_seq this process has fanned out
        self._outbox: dict[Connection, list[bytes]] | None = None  # while corked
        self.closed_count = 0  # connections forgotten since start
        # user id -> (when last, [(when, note)]): recent revocations, the least recent user first
        self._revocations: dict[UUID, tuple[float, list[tuple[float, TokensRevokedNote]]]] = {}
        self._ending: set[asyncio.Task] = set()  # closes under way, kept from the garbage collector
        self.notifier = Notifier(lambda room: self._by_room.get(room, ()),
                                 lambda user_id: self.active_connections.get(user_id, ()), self._post)

    # The spec's operations, by the spec's names.

    def connect(self, user_id: UUID, connection: Connection) -> None:
        self.active_connections.setdefault(user_id, set()).add(connection)
        for room in connection.rooms:
            self._by_room.setdefault(room, set()).add(connection)

    def disconnect(self, user_id: UUID, connection: Connection | None = None) -> None:
        """Forget one of the user's connections, or all of them."""
        mine = self.active_connections.get(user_id, set())
        for conn in [connection] if connection is not None else list(mine):
            if conn in mine:
                mine.discard(conn)
                self.closed_count += 1
            for room in conn.rooms:
                self._discard(room, conn)
        if not mine:
            self.active_connections.pop(user_id, None)
            self.notifier.forget(user_id)

    def send_personal(self, user_id: UUID, frame: bytes, exclude_origin: UUID | None = None) -> None:
        """Every socket of one user, wherever they are a member (what concerns them alone), but
        the one whose `origin` is `exclude_origin`."""
        for conn in self.active_connections.get(user_id, ()):
            if exclude_origin is None or conn.origin != exclude_origin:
                conn.send(frame)

    def send_to_members(self, server_id: UUID, user_ids: Iterable[UUID], frame: bytes) -> None:
        """The sockets of some of a server's members (its ADMINs and MODERATORs, say) that
        receive the server's events."""
        for user_id in user_ids:
            for conn in self.active_connections.get(user_id, ()):
                if server_id in conn.rooms:
                    conn.send(frame)

    def broadcast(self, room: UUID, frame: bytes, exclude_user: UUID | None = None) -> None:
        """Every socket in the room (room_of): a server's members, a conversation's people."""
        for conn in self._by_room.get(room, ()):
            if conn.user.user_id != exclude_user:
                conn.send(frame)

    # What the listener calls.

    def deliver_change(self, event: ChangeNote) -> bool:
        """A change's event to the room's sockets, once per event_seq, in order per channel;
        False when it was fanned out already."""
        channel_id, seq = event.channel_id, event.event_seq
        if seq <= self.channel_seq.get(channel_id, 0):
            return False  # already fanned out (a catch-up after a lost LISTEN overlaps live ones)
        self.channel_seq[channel_id] = seq
        frames: dict[Any, bytes] = {}
        recipients = self._by_room.get(room_of(event.server_id, channel_id), ())
        for conn in recipients:
            frame = frames.get(conn.zone)
            if frame is None:
                frame = frames[conn.zone] = outbound.change(event, conn.zone)
            if conn.accepts(channel_id, seq, frame):
                self._post(conn, frame)
        if recipients and self._metrics is not None:
            self._metrics.deliveries.inc(len(recipients))  # once per broadcast, not per socket
        return True

    def deliver_presence(self, note: PresenceNote, servers: list[UUID], peers: list[UUID]) -> None:
        """A presence change to each socket of the servers' members and of the peers, once per
        socket however many servers or conversations it shares with the user. The user's own
        sockets hear of the statuses they set (`invisible` where others see `offline`), not of
        their own sockets coming and going."""
        if len(servers) == 1 and not peers:  # the common case: no set to build
            recipients: Iterable[Connection] = self._by_room.get(servers[0], ())
        else:
            found: set[Connection] = set()
            for server_id in servers:
                found.update(self._by_room.get(server_id, ()))
            for peer in peers:
                found.update(self.active_connections.get(peer, ()))
            recipients = found
        user_id, sent = note.user_id, 0
        frame = outbound.presence_update(user_id, note.status)
        for conn in recipients:
            if conn.user.user_id != user_id:
                self._post(conn, frame)
                sent += 1
        own = self.active_connections.get(user_id, ()) if note.own_status is not None else ()
        if own:
            own_frame = outbound.presence_update(user_id, note.own_status)
            for conn in own:
                self._post(conn, own_frame)
        if self._metrics is not None:
            self._metrics.presence_deliveries.inc(sent + len(own))

    def _post(self, conn: Connection, frame: bytes) -> None:
        """Send now, or while corked, after the burst's earlier frames to the same socket."""
        outbox = self._outbox
        if outbox is None:
            conn.send(frame)
        elif conn in outbox:
            outbox[conn].append(frame)
        else:
            outbox[conn] = [frame]

    def cork(self) -> None:
        """Hold change and presence frames until uncork(): the changes of one burst of notes then reach
        each socket in one write, not one write (and one wake-up of the peer) each."""
        self._outbox = {}

    def uncork(self) -> None:
        outbox, self._outbox = self._outbox, None
        for conn, frames in (outbox or {}).items():
            conn.send_frames(frames)

    def subscribe(self, user_id: UUID, room: UUID) -> None:
        for conn in self.active_connections.get(user_id, ()):
            conn.rooms.add(room)
            self._by_room.setdefault(room, set()).add(conn)

    def unsubscribe(self, user_id: UUID, room: UUID) -> None:
        for conn in self.active_connections.get(user_id, ()):
            conn.rooms.discard(room)
            self._discard(room, conn)

    def drop_room(self, room: UUID) -> None:
        for conn in self._by_room.pop(room, set()):
            conn.rooms.discard(room)

    def revoke_tokens(self, note: TokensRevokedNote) -> None:
        """Every socket of the user opened with a token the note revokes is forgotten at once
        (it hears nothing more) and closed with 4401 "token revoked", without waiting here."""
        self._remember(note)
        for conn in list(self.active_connections.get(note.user_id, ())):
            if conn.token.revoked_by(note):
                self.disconnect(note.user_id, conn)
                task = asyncio.get_running_loop().create_task(conn.close(UNAUTHORIZED, TOKEN_REVOKED))
                self._ending.add(task)
                task.add_done_callback(self._ending.discard)

    def revoked_recently(self, token: Claims) -> bool:
        """Whether a revocation this process heard lately revokes the token: a connect whose
        lookup read the database just before the revocation committed asks before it registers."""
        _, notes = self._revocations.get(token.user_id, (0.0, []))
        return any(token.revoked_by(note) for _, note in notes)

    def _remember(self, note: TokensRevokedNote) -> None:
        now = time.monotonic()
        horizon = now - REVOCATIONS_KEPT_SECONDS
        _, kept = self._revocations.pop(note.user_id, (now, []))
        self._revocations[note.user_id] = (now, [(t, n) for t, n in kept if t > horizon] + [(now, note)])
        stale = []
        for user_id, (last, _) in self._revocations.items():
            if last > horizon:
                break
            stale.append(user_id)
        for user_id in stale:
            del self._revocations[user_id]

    def serves(self, room: UUID) -> bool:
        """Whether any socket here is in the room."""
        return room in self._by_room

    def room_ids(self) -> list[UUID]:
        return list(self._by_room)

    def connections(self) -> Iterable[Connection]:
        for conns in self.active_connections.values():
            yield from conns

    @property
    def connection_count(self) -> int:
        return sum(len(c) for c in self.active_connections.values())

    def _discard(self, room: UUID, conn: Connection) -> None:
        members = self._by_room.get(room)
        if members is not None:
            members.discard(conn)
            if not members:
                del self._by_room[room]
