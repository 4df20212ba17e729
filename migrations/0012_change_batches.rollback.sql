DROP TRIGGER message_reaction_removed ON message_reaction;
DROP TRIGGER message_reaction_added ON message_reaction;
DROP FUNCTION count_reactions_removed();
DROP FUNCTION count_reactions_added();
DROP TABLE message_reaction_count;
CREATE OR REPLACE FUNCTION reaction_summary(channel uuid, message uuid, viewer uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(json_agg(json_build_object('emoji', x.emoji, 'count', x.count, 'me', x.me)
                             ORDER BY x.first_used, x.emoji), '[]')
      FROM (SELECT r.emoji, count(*) AS count, bool_or(r.user_id = viewer) AS me, min(r.created_at) AS first_used
              FROM message_reaction r
             WHERE r.channel_id = channel AND r.message_id = message
             GROUP BY r.emoji) x
$$;
DROP FUNCTION record_changes(text, uuid[], uuid[], jsonb[]);
CREATE FUNCTION record_change(notify_channel text, channel uuid, message uuid, note jsonb) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    WITH numbered AS (
        UPDATE chatchannel
           SET last_event_seq = last_event_seq + 1
         WHERE id = channel
        RETURNING server_id, last_event_seq
    ), recorded AS (
        INSERT INTO message_change (channel_id, event_seq, message_id, payload)
        SELECT channel, n.last_event_seq, message,
               note || jsonb_build_object('server_id', n.server_id, 'channel_id', channel,
                                          'event_seq', n.last_event_seq)
          FROM numbered n
        RETURNING event_seq, payload
    )
    SELECT r.event_seq
      FROM recorded r,
           LATERAL (SELECT pg_notify(notify_channel, CASE
                        WHEN octet_length(r.payload::text) <= 7900 OR NOT r.payload ? 'text' THEN r.payload
                        ELSE jsonb_set(r.payload, '{text}', 'null') END::text)) AS sent
$$;
