-- Read state (migration 0017): a pointer per reader and channel; counts computed when read by
-- read_pointer and unread_counts, every channel the caller reads through channel_reader (the
-- listing through channel_reading, which says the same of one reader in one flat join:
-- migrations 0036 and 0037).

-- name: list_unreads(user_id)
-- GET /chat/unreads: every channel and conversation the user reads that takes messages, with
-- the pointer and the counts, in one statement (unreads_of, which reads channel_reading and
-- is planned once per connection: migration 0037). The first six columns are
-- chatd.domain.schemas.ReadState's fields, in order (built positionally), with the counts
-- kept beside the pointer; `fresh`: where those are not the channel's now, its
-- counts counted afresh (none when nothing is unread); `stored`: there is a row to keep them in
-- (keep_unread_counts). The ids come as their text, which the answer's JSON has as it is:
-- msgspec encodes asyncpg's UUIDs by their integer, computed each time; over the whole
-- request, the cast came out a little cheaper.
SELECT server_id, channel_id, last_read_seq, last_seq, counted_unread, counted_mentions, fresh, stored
  FROM unreads_of(:user_id);

-- name: keep_unread_counts(user_id, channel_ids)!
-- Counts list_unreads had to count, kept (migration 0032) for the next time, in the rows no
-- one else holds (SKIP LOCKED: an ack or a send writing one now is not waited for; those are
-- counted again next time). Counted again here, so the counts and the event_seq they are kept
-- with come from this statement's one snapshot: kept counts are always those of that
-- event_seq. Apart from the listing, so that a listing with nothing to keep stays one plain
-- read (keeping in the same statement made every listing materialize its rows).
WITH fresh AS (
    SELECT channel_id, last_read_seq, unread_count, mention_count, last_event_seq
      FROM channel_unread(:user_id, :channel_ids::uuid[])
     WHERE stored AND NOT counted
), free AS (
    SELECT s.channel_id
      FROM read_state s
     WHERE s.user_id = :user_id
       AND s.channel_id = any(:channel_ids::uuid[])
       FOR NO KEY UPDATE SKIP LOCKED
)
UPDATE read_state s
   SET counted_event_seq = u.last_event_seq, counted_pointer = u.last_read_seq,
       counted_unread = u.unread_count, counted_mentions = u.mention_count
  FROM free f
  JOIN fresh u ON u.channel_id = f.channel_id
 WHERE s.user_id = :user_id AND s.channel_id = f.channel_id;

-- name: set_read_state(notify_channel, user_id, server_id, channel_id, seq, forward, origin)^
-- An ack (`forward`: the pointer moves only forward, from where it is, the join point for a
-- channel never acked) or a "mark unread" (anywhere), in one statement that checks it (a
-- channel the user reads that takes messages, `seq` not beyond its last), writes one row and
-- sends read_state_updated for the user's other sockets (`origin`: the socket that acked, or
-- NULL). No row: refused (permissions.require_read_state says why). The channel row is
-- key-share locked first, as a send locks it before its own pointer: an ack inserting the
-- row a send's batch upserts waits for that batch instead of deadlocking with it on the
-- foreign key check.
WITH target AS (
    SELECT r.server_id, c.id AS channel_id, c.last_seq, p.pointer
      FROM channel_reader r
      JOIN chatchannel c ON c.id = r.channel_id
      LEFT JOIN read_state s ON s.user_id = r.user_id AND s.channel_id = c.id
     CROSS JOIN LATERAL read_pointer(c.id, r.since, s.last_read_seq, s.updated_at) p
     WHERE r.user_id = :user_id
       AND r.channel_id = :channel_id
       AND r.server_id IS NOT DISTINCT FROM :server_id::uuid
       AND c.type <> 'VOICE'
       AND :seq::bigint <= c.last_seq
       FOR KEY SHARE OF c
), written AS (
    INSERT INTO read_state AS s (user_id, channel_id, last_read_seq)
    SELECT :user_id, t.channel_id, CASE WHEN :forward THEN greatest(t.pointer, :seq::bigint) ELSE :seq::bigint END
      FROM target t
    ON CONFLICT (user_id, channel_id) DO UPDATE
       SET last_read_seq = CASE WHEN :forward THEN greatest(s.last_read_seq, excluded.last_read_seq)
                                ELSE excluded.last_read_seq END,
           updated_at = now()
    RETURNING s.last_read_seq, s.own_seq
), answer AS (
    SELECT t.server_id, t.channel_id, w.last_read_seq, t.last_seq, u.unread_count, u.mention_count
      FROM target t
     CROSS JOIN written w
     CROSS JOIN LATERAL unread_counts(:user_id, t.channel_id, w.last_read_seq, t.last_seq, w.own_seq) u
)
SELECT a.*, pg_notify(:notify_channel, json_build_object(
           'kind', 'read_state_updated', 'user_id', :user_id::uuid, 'server_id', a.server_id,
           'channel_id', a.channel_id, 'last_read_seq', a.last_read_seq, 'unread_count', a.unread_count,
           'mention_count', a.mention_count, 'origin', :origin::uuid)::text) AS notified
  FROM answer a;

-- name: get_read_access(user_id, server_id, channel_id)^
-- What an ack or a "mark unread" depends on: the channel's type and last seq, when the user
-- reads it (no row: they do not, or there is no such channel there).
SELECT c.type AS channel_type, c.last_seq
  FROM channel_reader r
  JOIN chatchannel c ON c.id = r.channel_id
 WHERE r.user_id = :user_id
   AND r.channel_id = :channel_id
   AND r.server_id IS NOT DISTINCT FROM :server_id::uuid;
