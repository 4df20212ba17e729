CREATE OR REPLACE FUNCTION unread_counts(reader uuid, channel uuid, pointer bigint, last bigint, own bigint)
RETURNS TABLE (unread_count bigint, mention_count bigint) LANGUAGE sql STABLE AS $$
    SELECT greatest(last - pointer, 0) - mine.n - notable.deleted, direct.n + notable.everyone
      FROM (SELECT count(*) AS n FROM chatmessage m
             WHERE own > pointer AND m.user_id = reader AND m.channel_id = channel AND m.seq > pointer) mine,
           (SELECT count(*) FILTER (WHERE m.deleted_at IS NOT NULL AND m.user_id <> reader) AS deleted,
                   count(*) FILTER (WHERE m.deleted_at IS NULL AND m.mention_everyone AND m.user_id <> reader
                                      AND NOT EXISTS (SELECT 1 FROM message_mention x
                                                       WHERE x.user_id = reader AND x.channel_id = channel
                                                         AND x.seq = m.seq)) AS everyone
              FROM chatmessage m
             WHERE last > pointer AND m.channel_id = channel AND m.seq > pointer
               AND (m.deleted_at IS NOT NULL OR m.mention_everyone)) notable,
           (SELECT count(*) AS n FROM message_mention x
              JOIN chatmessage m ON m.channel_id = x.channel_id AND m.seq = x.seq
             WHERE last > pointer AND x.user_id = reader AND x.channel_id = channel AND x.seq > pointer
               AND m.deleted_at IS NULL AND m.user_id <> reader) direct
$$;
