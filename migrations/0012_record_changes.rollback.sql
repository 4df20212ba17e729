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
