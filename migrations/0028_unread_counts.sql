-- depends: 0017_read_state 0024_threads
-- The unread and mention counts (migration 0017's unread_counts, what channel_unread and
-- set_read_state read) without a probe per message: the direct-mention term joined each
-- mention row to its message (a heap fetch each) to leave out the deleted and the reader's
-- own. Now the three ranges above the pointer are index-only scans merged by seq, and a seq
-- counts once: unread = (last - pointer) - the seqs that are the reader's own or deleted;
-- mentions = the seqs neither own nor deleted that mention the reader directly or by
-- @everyone. The reader's own messages are those of their range (read only when they have one
-- above the pointer, as before) and, among the deleted and @everyone ones, those by them
-- (the partial index includes the author). Same signature, so every caller keeps it.
CREATE OR REPLACE FUNCTION unread_counts(reader uuid, channel uuid, pointer bigint, last bigint, own bigint)
RETURNS TABLE (unread_count bigint, mention_count bigint) LANGUAGE sql STABLE AS $$
    SELECT greatest(last - pointer, 0) - count(*) FILTER (WHERE g.own OR g.deleted),
           count(*) FILTER (WHERE NOT g.own AND NOT g.deleted AND g.mentioned)
      FROM (SELECT bool_or(t.own) AS own, bool_or(t.deleted) AS deleted, bool_or(t.mentioned) AS mentioned
              FROM (SELECT m.seq, true AS own, false AS deleted, false AS mentioned
                      FROM chatmessage m
                     WHERE own > pointer AND m.user_id = reader AND m.channel_id = channel AND m.seq > pointer
                    UNION ALL
                    SELECT m.seq, m.user_id = reader, m.deleted_at IS NOT NULL, m.mention_everyone
                      FROM chatmessage m
                     WHERE last > pointer AND m.channel_id = channel AND m.seq > pointer
                       AND (m.deleted_at IS NOT NULL OR m.mention_everyone)
                    UNION ALL
                    SELECT x.seq, false, false, true
                      FROM message_mention x
                     WHERE last > pointer AND x.user_id = reader AND x.channel_id = channel AND x.seq > pointer) t
             GROUP BY t.seq) g
$$;
