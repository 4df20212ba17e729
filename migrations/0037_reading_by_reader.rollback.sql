-- Migration 0036's views again.
DROP FUNCTION unreads_of(uuid);
DROP FUNCTION channel_unread(uuid, uuid[]);
DROP FUNCTION channel_reading(uuid, uuid[]);

CREATE VIEW channel_reading AS
SELECT r.user_id, r.server_id, r.channel_id, r.position, r.last_seq, r.last_event_seq,
       x.pointer AS last_read_seq, s.user_id IS NOT NULL AS stored, s.own_seq,
       k.counted, s.counted_unread, s.counted_mentions,
       CASE WHEN NOT k.counted
            THEN (SELECT ARRAY[u.unread_count, u.mention_count]
                    FROM (SELECT x.pointer OFFSET 0) p
                   CROSS JOIN LATERAL unread_counts(r.user_id, r.channel_id, p.pointer, r.last_seq, s.own_seq) u)
       END AS fresh
  FROM (SELECT m.user_id, m.server_id, c.id AS channel_id, c.position, c.last_seq, c.last_event_seq,
               m.joined_at AS since, NULL::bigint AS since_seq
          FROM servermembership m
          JOIN chatchannel c ON c.server_id = m.server_id
         WHERE c.type NOT IN ('VOICE', 'THREAD')
        UNION ALL
        SELECT d.user_id, NULL, c.id, c.position, c.last_seq, c.last_event_seq, d.added_at, NULL
          FROM dm_recipient d
          JOIN chatchannel c ON c.id = d.channel_id
         WHERE c.type NOT IN ('VOICE', 'THREAD')
        UNION ALL
        SELECT f.user_id, c.server_id, c.id, c.position, c.last_seq, c.last_event_seq, NULL, f.since_seq
          FROM thread_follower f
          JOIN chatchannel c ON c.id = f.thread_id
          JOIN servermembership m ON m.server_id = c.server_id AND m.user_id = f.user_id) r
  LEFT JOIN LATERAL (SELECT s.user_id, s.last_read_seq, s.own_seq, s.updated_at, s.counted_event_seq,
                            s.counted_pointer, s.counted_unread, s.counted_mentions
                       FROM read_state s
                      WHERE s.user_id = r.user_id AND s.channel_id = r.channel_id
                     OFFSET 0) s ON true
 CROSS JOIN LATERAL (SELECT CASE WHEN r.since_seq IS NOT NULL THEN greatest(s.last_read_seq, r.since_seq)
                                 WHEN s.updated_at >= r.since THEN s.last_read_seq
                                 ELSE (SELECT p.pointer
                                         FROM read_pointer(r.channel_id, r.since, s.last_read_seq, s.updated_at) p)
                            END AS pointer) x
 CROSS JOIN LATERAL (SELECT s.counted_event_seq IS NOT DISTINCT FROM r.last_event_seq
                            AND s.counted_pointer IS NOT DISTINCT FROM x.pointer AS counted) k;

-- The counts kept, or those counted afresh.
CREATE VIEW channel_unread AS
SELECT user_id, server_id, channel_id, position, last_read_seq, last_seq,
       counts[1] AS unread_count, counts[2] AS mention_count, last_event_seq, counted, stored
  FROM (SELECT r.*, CASE WHEN r.counted THEN ARRAY[r.counted_unread, r.counted_mentions] ELSE r.fresh END AS counts
          FROM channel_reading r) x;
