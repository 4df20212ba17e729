-- depends: 0011_reaction_summary
-- Changes are made in batches (chatd.domain.changes): one statement makes every change of a
-- kind that arrived together, so recording them is set-based too. record_changes takes the
-- changes in their order (channel, message, note of each): each channel's counter moves once,
-- by its number of changes, each change gets the next event_seq of its channel in that order,
-- is kept in message_change with its completed note and sent with pg_notify, in event_seq
-- order per channel. The caller holds the channels' locks (lock_channels_for_changes). A note
-- too long for NOTIFY's 8000 bytes travels without its text; listeners read the stored one.
-- It replaces record_change, its one-change form. Below: the reaction counts history reads.
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

-- How many reacted to a message with each emoji, kept by the statements that add and remove
-- reactions (statement triggers: a batch of them updates each count once), so that history
-- reads a message's reactions as at most 20 rows, not one per reactor, and the 20-emoji rule
-- counts rows. Triggers keep it exact whoever writes message_reaction, deletions of whole
-- channels included. `first_used`: when the emoji's count last went from 0 (the order history
-- shows emoji in).
CREATE TABLE message_reaction_count (
    channel_id uuid NOT NULL REFERENCES chatchannel (id) ON DELETE CASCADE,
    message_id uuid NOT NULL,
    emoji      text NOT NULL,
    count      integer NOT NULL CHECK (count > 0),
    first_used timestamptz NOT NULL,
    PRIMARY KEY (channel_id, message_id, emoji)
);
INSERT INTO message_reaction_count (channel_id, message_id, emoji, count, first_used)
SELECT channel_id, message_id, emoji, count(*), min(created_at)
  FROM message_reaction
 GROUP BY channel_id, message_id, emoji;

CREATE FUNCTION count_reactions_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_reaction_count AS c (channel_id, message_id, emoji, count, first_used)
    SELECT channel_id, message_id, emoji, count(*), min(created_at)
      FROM added
     GROUP BY channel_id, message_id, emoji
    ON CONFLICT (channel_id, message_id, emoji) DO UPDATE SET count = c.count + excluded.count;
    RETURN NULL;
END
$$;
CREATE TRIGGER message_reaction_added AFTER INSERT ON message_reaction
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION count_reactions_added();

CREATE FUNCTION count_reactions_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A count that reaches 0 is deleted, the others lowered: disjoint rows, one statement.
    WITH gone AS (
        SELECT channel_id, message_id, emoji, count(*) AS n
          FROM removed
         GROUP BY channel_id, message_id, emoji
    ), emptied AS (
        DELETE FROM message_reaction_count c
         USING gone g
         WHERE c.channel_id = g.channel_id AND c.message_id = g.message_id AND c.emoji = g.emoji
           AND c.count <= g.n
    )
    UPDATE message_reaction_count c
       SET count = c.count - g.n
      FROM gone g
     WHERE c.channel_id = g.channel_id AND c.message_id = g.message_id AND c.emoji = g.emoji
       AND c.count > g.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER message_reaction_removed AFTER DELETE ON message_reaction
REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION count_reactions_removed();

-- A message's reactions as history shows them, for whoever reads: each emoji with how many
-- reacted and whether `viewer` is one of them (a probe of message_reaction's primary key
-- per emoji), in the order the emoji were first used.
CREATE OR REPLACE FUNCTION reaction_summary(channel uuid, message uuid, viewer uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(json_agg(json_build_object(
               'emoji', c.emoji, 'count', c.count,
               'me', EXISTS (SELECT 1 FROM message_reaction r
                              WHERE r.channel_id = channel AND r.message_id = message AND r.emoji = c.emoji
                                AND r.user_id = viewer))
           ORDER BY c.first_used, c.emoji), '[]')
      FROM message_reaction_count c
     WHERE c.channel_id = channel AND c.message_id = message
$$;
