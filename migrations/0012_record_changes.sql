-- depends: 0011_reaction_summary
-- Changes are made in batches (chatd.domain.changes): one statement makes every change of a
-- kind that arrived together, so recording them is set-based too. record_changes takes the
-- changes in their order (channel, message, note of each): each channel's counter moves once,
-- by its number of changes, each change gets the next event_seq of its channel in that order,
-- is kept in message_change with its completed note and sent with pg_notify, in event_seq
-- order per channel. The caller holds the channels' locks (lock_channels_for_changes). A note
-- too long for NOTIFY's 8000 bytes travels without its text; listeners read the stored one.
-- It replaces record_change, its one-change form.
CREATE FUNCTION record_changes(notify_channel text, channels uuid[], messages uuid[], notes jsonb[]) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    WITH items AS (
        SELECT * FROM unnest(channels, messages, notes) WITH ORDINALITY AS i(channel_id, message_id, note, ord)
    ), bumped AS (
        UPDATE chatchannel c
           SET last_event_seq = c.last_event_seq + k.n
          FROM (SELECT channel_id, count(*) AS n FROM items GROUP BY channel_id) k
         WHERE c.id = k.channel_id
        RETURNING c.id, c.server_id, c.last_event_seq - k.n AS base
    ), numbered AS (
        SELECT i.channel_id, i.message_id, i.note, b.server_id,
               b.base + row_number() OVER (PARTITION BY i.channel_id ORDER BY i.ord) AS event_seq
          FROM items i
          JOIN bumped b ON b.id = i.channel_id
    ), recorded AS (
        INSERT INTO message_change (channel_id, event_seq, message_id, payload)
        SELECT channel_id, event_seq, message_id,
               note || jsonb_build_object('server_id', server_id, 'channel_id', channel_id, 'event_seq', event_seq)
          FROM numbered
        RETURNING channel_id, event_seq, payload
    )
    SELECT count(pg_notify(notify_channel, CASE
               WHEN octet_length(r.payload::text) <= 7900 OR NOT r.payload ? 'text' THEN r.payload
               ELSE jsonb_set(r.payload, '{text}', 'null') END::text))
      FROM (SELECT * FROM recorded ORDER BY channel_id, event_seq) r
$$;

DROP FUNCTION record_change(text, uuid, uuid, jsonb);
