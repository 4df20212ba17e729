"""Read state: where each user has read each channel up to (a pointer, never a row per
message), and the unread and mention counts after it, computed when read (migration 0017).

Acks move the pointer forward only; "mark unread" sets it anywhere. Either is one statement
(sql/reads.sql set_read_state) that checks it, writes one row and sends read_state_updated,
which reaches the user's other sockets on every process. Sending a message moves the sender's
own pointer to it, in the send's statement. Mention counts read message_mention and
chatmessage.mention_everyone, which the send path fills in once mentions are resolved; until
then they are 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import NotFound
from chatd.domain.schemas import ReadState, User
from chatd.store.pool import fetch_rows


def read_state_view(row) -> ReadState:
    return ReadState(server_id=row["server_id"], channel_id=row["channel_id"], last_read_seq=row["last_read_seq"],
                     last_seq=row["last_seq"], unread_count=row["unread_count"], mention_count=row["mention_count"])


async def set_read_state(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, seq: int,
                         forward: bool, origin: UUID | None = None) -> ReadState:
    """An ack (`forward`) or a "mark unread" of a channel (server_id None: a conversation);
    `origin` names the socket it came from, which read_state_updated skips."""
    row = await app[keys.notes].emit(app[keys.queries].set_read_state, app[keys.pool], user_id=user.user_id,
                                     server_id=server_id, channel_id=channel_id, seq=seq, forward=forward,
                                     origin=origin)
    if row is None:
        await permissions.require_read_state(app, user, server_id, channel_id, seq)
        raise NotFound(permissions.CHANNEL_NOT_FOUND)  # allowed now: its channel went, or came, meanwhile
    return read_state_view(row)


async def list_unreads(app: Mapping, user_id: UUID) -> list[ReadState]:
    """Its rows are ReadState's fields in order, built positionally: a third of the Python
    time of a reader of a thousand channels went to looking each field up by name. Counts it
    had to count (`fresh`) replace the kept ones, and are kept for the next listing where
    there is a row to keep them in, after it (keep_unread_counts)."""
    queries, pool = app[keys.queries], app[keys.pool]
    rows = await fetch_rows(queries, pool, "list_unreads", user_id=user_id)
    fresh = [row[1] for row in rows if row[6] is not None and row[7]]
    if fresh:
        await queries.keep_unread_counts(pool, user_id=user_id, channel_ids=fresh)
    return [ReadState(row[0], row[1], row[2], row[3], row[4], row[5]) if row[6] is None
            else ReadState(row[0], row[1], row[2], row[3], *row[6]) for row in rows]
