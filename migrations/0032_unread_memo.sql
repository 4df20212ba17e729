-- depends: 0028_unread_counts 0029_named_users
-- Unread counts remembered (issue 17): a channel's counts for a reader are a function of the
-- channel's content and the reader's pointer, and every change of content takes the channel's
-- next event_seq (a message, an edit, a deletion, a reaction) in the transaction that makes
-- it. So counts computed in one snapshot, kept beside the pointer with the event_seq and the
-- pointer they were computed at, are exact for as long as both still match, and are read then
-- instead of counted again: no index range at all. GET /chat/unreads keeps what it had to
-- count (sql/reads.sql list_unreads); a pointer moved or a channel changed since makes them
-- count afresh, never read stale.
ALTER TABLE read_state
    ADD COLUMN counted_event_seq bigint,
    ADD COLUMN counted_pointer bigint,
    ADD COLUMN counted_unread bigint,
    ADD COLUMN counted_mentions bigint;

-- unread_counts, or the counts kept in the reader's read_state row (`kept_*`; NULL when none)
-- when they were counted at this `pointer` and the channel's current `event_seq`; `counted`
-- says which. Inlined like unread_counts: one arm runs, the other's one-time filter skips it.
-- (The columns one by one: passing the whole row made every row of the join carry all of it.)
CREATE FUNCTION kept_unread_counts(reader uuid, channel uuid, pointer bigint, last bigint, own bigint,
                                   event_seq bigint, kept_event_seq bigint, kept_pointer bigint,
                                   kept_unread bigint, kept_mentions bigint)
RETURNS TABLE (unread_count bigint, mention_count bigint, counted boolean) LANGUAGE sql STABLE AS $$
    SELECT kept_unread, kept_mentions, true
     WHERE kept_event_seq = event_seq AND kept_pointer = pointer
    UNION ALL
    SELECT u.unread_count, u.mention_count, false
      FROM unread_counts(reader, channel, pointer, last, own) u
     WHERE kept_event_seq IS DISTINCT FROM event_seq OR kept_pointer IS DISTINCT FROM pointer
$$;

-- Migration 0024's view through kept_unread_counts, with what keeping them needs at the end:
-- the channel's event_seq and whether the counts were kept ones.
CREATE OR REPLACE VIEW channel_unread AS
SELECT r.user_id, r.server_id, c.id AS channel_id, c.position, p.pointer AS last_read_seq, c.last_seq,
       u.unread_count, u.mention_count, c.last_event_seq, u.counted
  FROM channel_reader r
  JOIN chatchannel c ON c.id = r.channel_id
  LEFT JOIN read_state s ON s.user_id = r.user_id AND s.channel_id = c.id
 CROSS JOIN LATERAL read_pointer(c.id, r.since, s.last_read_seq, s.updated_at) p
 CROSS JOIN LATERAL kept_unread_counts(r.user_id, c.id, p.pointer, c.last_seq, s.own_seq, c.last_event_seq,
                                     s.counted_event_seq, s.counted_pointer, s.counted_unread, s.counted_mentions) u
 WHERE c.type NOT IN ('VOICE', 'THREAD')
UNION ALL
SELECT f.user_id, c.server_id, c.id AS channel_id, c.position, p.pointer AS last_read_seq, c.last_seq,
       u.unread_count, u.mention_count, c.last_event_seq, u.counted
  FROM thread_follower f
  JOIN chatchannel c ON c.id = f.thread_id
  JOIN servermembership m ON m.server_id = c.server_id AND m.user_id = f.user_id
  LEFT JOIN read_state s ON s.user_id = f.user_id AND s.channel_id = c.id
 CROSS JOIN LATERAL (SELECT greatest(s.last_read_seq, f.since_seq) AS pointer) p
 CROSS JOIN LATERAL kept_unread_counts(f.user_id, c.id, p.pointer, c.last_seq, s.own_seq, c.last_event_seq,
                                     s.counted_event_seq, s.counted_pointer, s.counted_unread, s.counted_mentions) u;
