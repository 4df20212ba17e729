-- name: insert_mention(channel_id, seq, user_id)!
-- A direct mention as the send path will record it (the next part of issue 17).
INSERT INTO message_mention (channel_id, seq, user_id) VALUES (:channel_id, :seq, :user_id);

-- name: mark_mention_everyone(channel_id, seq)!
UPDATE chatmessage SET mention_everyone = true WHERE channel_id = :channel_id AND seq = :seq;

-- name: read_state_rows()
SELECT user_id, channel_id, last_read_seq FROM read_state ORDER BY user_id, channel_id;

-- name: count_message_rows()^
-- The tables that hold a row per message or per change: what marking read must not grow.
SELECT (SELECT count(*) FROM chatmessage) AS messages,
       (SELECT count(*) FROM message_change) AS changes,
       (SELECT count(*) FROM message_mention) AS mentions,
       (SELECT count(*) FROM read_state) AS read_states;

-- name: count_unread_directly(user_id, channel_id, after_seq)$
-- The definition, row by row: what the counts must equal.
SELECT count(*) FROM chatmessage
 WHERE channel_id = :channel_id AND seq > :after_seq AND deleted_at IS NULL AND user_id <> :user_id;

-- name: count_unreads_afresh(user_id)
-- Each of the user's channels counted from its messages now, never from kept counts: what
-- GET /chat/unreads must answer whether it read kept counts or not.
SELECT v.channel_id, u.unread_count, u.mention_count
  FROM channel_unread(:user_id) v
  LEFT JOIN read_state s ON s.user_id = :user_id AND s.channel_id = v.channel_id
 CROSS JOIN LATERAL unread_counts(:user_id, v.channel_id, v.last_read_seq, v.last_seq, s.own_seq) u;

-- name: counts_kept(user_id, channel_id)$
-- Whether the user's counts of the channel would be read from what was kept (migration 0032).
SELECT counted FROM channel_unread(:user_id) WHERE channel_id = :channel_id;

-- name: listing_of(user_id)
-- The statement unreads_of (migration 0037) runs for GET /chat/unreads, as it runs it.
SELECT r.server_id::text, r.channel_id::text, r.last_read_seq, r.last_seq, r.counted_unread, r.counted_mentions,
       r.fresh, r.stored
  FROM channel_reading(:user_id) r
 ORDER BY r.server_id, r.position, r.channel_id;
