CREATE OR REPLACE VIEW channel_unread AS
SELECT user_id, server_id, channel_id, position, last_read_seq, last_seq,
       counts[1] AS unread_count, counts[2] AS mention_count, last_event_seq, counted, stored
  FROM (SELECT r.user_id, r.server_id, r.channel_id, r.position, r.last_read_seq, r.last_seq, r.last_event_seq,
               k.counted, r.stored,
               CASE WHEN k.counted THEN ARRAY[r.counted_unread, r.counted_mentions]
                    ELSE (SELECT ARRAY[u.unread_count, u.mention_count]
                            FROM unread_counts(r.user_id, r.channel_id, r.last_read_seq, r.last_seq, r.own_seq) u) END
               AS counts
          FROM (SELECT r.user_id, r.server_id, c.id AS channel_id, c.position, p.pointer AS last_read_seq, c.last_seq,
                       c.last_event_seq, s.user_id IS NOT NULL AS stored, s.own_seq, s.counted_event_seq,
                       s.counted_pointer, s.counted_unread, s.counted_mentions
                  FROM channel_reader r
                  JOIN chatchannel c ON c.id = r.channel_id
                  LEFT JOIN read_state s ON s.user_id = r.user_id AND s.channel_id = c.id
                 CROSS JOIN LATERAL read_pointer(c.id, r.since, s.last_read_seq, s.updated_at) p
                 WHERE c.type NOT IN ('VOICE', 'THREAD')
                UNION ALL
                SELECT f.user_id, c.server_id, c.id AS channel_id, c.position, greatest(s.last_read_seq, f.since_seq),
                       c.last_seq, c.last_event_seq, s.user_id IS NOT NULL AS stored, s.own_seq, s.counted_event_seq,
                       s.counted_pointer, s.counted_unread, s.counted_mentions
                  FROM thread_follower f
                  JOIN chatchannel c ON c.id = f.thread_id
                  JOIN servermembership m ON m.server_id = c.server_id AND m.user_id = f.user_id
                  LEFT JOIN read_state s ON s.user_id = f.user_id AND s.channel_id = c.id) r
         CROSS JOIN LATERAL (SELECT r.counted_event_seq IS NOT DISTINCT FROM r.last_event_seq
                                    AND r.counted_pointer IS NOT DISTINCT FROM r.last_read_seq AS counted) k) x;

DROP VIEW channel_reading;
