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
DROP VIEW channel_unread;
CREATE VIEW channel_unread AS
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
