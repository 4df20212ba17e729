-- The change stream of a channel: every new message (from chatmessage, by event_seq) and every
-- other change (message_change), as the notes that announced them, in event_seq order.

-- name: list_changes_after(channel_ids, after_event_seqs, lim)
-- Resume: for each channel, the first `lim` changes after its cursor (a channel that returns
-- `lim` rows has more: ask again from its last). Each arm is a range of its (channel_id,
-- event_seq) index, so the cost is the rows returned, at any depth. A new message comes as
-- message_row's columns (payload NULL), which chatd.gateway.outbound.replayed_event makes its
-- event: building the note's JSON here cost the database more than the rest of the read, and
-- chatd the decoding of it. Its ids come as their text, which the event encodes as it is: as
-- uuids, making each a UUID object and encoding it again cost a tenth of chatd's CPU in a
-- resume. So does each row's channel id, which chatd also keys its cursors by (a str hashes
-- once, in C; asyncpg's UUID computed its integer for every hash). Another change comes as its
-- stored note (payload), in UTF-8 bytes: its emoji made a str that msgspec would first have to
-- encode again. The columns are read by position: reading each by name cost more than building
-- the frame's struct.
SELECT c.channel_id::text, x.*
  FROM unnest(:channel_ids::uuid[], :after_event_seqs::bigint[]) WITH ORDINALITY AS c(channel_id, after_seq, ord)
 CROSS JOIN LATERAL (
    SELECT u.* FROM (
        (SELECT m.event_seq, NULL::bytea AS payload, m.id::text, m.server_id::text, m.user_id::text, m.username,
                m.text, m.created_at, m.seq, m.nonce, m.reply_to_id::text, m.reply_user_id::text, m.reply_username,
                m.reply_text, m.reply_deleted, m.mentions::text[], m.mention_everyone, m.mention_here, m.mention_reply,
                CASE WHEN h.any THEN (SELECT f.attachments FROM message_files f WHERE f.message_id = m.id)
                END AS attachments
           FROM message_row m
           -- Whether a message has files, by a probe of the index alone (LATERAL and LIMIT: as a join or
           -- EXISTS, the planner may hash the whole table); only those that have are aggregated. Probing
           -- message_files itself for every message cost as much as the rest of the message's read.
           LEFT JOIN LATERAL (SELECT true AS any FROM attachment a WHERE a.message_id = m.id LIMIT 1) h ON true
          WHERE m.channel_id = c.channel_id AND m.event_seq > c.after_seq
          ORDER BY m.event_seq
          LIMIT :lim)
        UNION ALL
        (SELECT ch.event_seq, convert_to(ch.payload::text, 'UTF8'),
                NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                NULL
           FROM message_change ch
          WHERE ch.channel_id = c.channel_id AND ch.event_seq > c.after_seq
          ORDER BY ch.event_seq
          LIMIT :lim)
    ) u
    ORDER BY u.event_seq
    LIMIT :lim
 ) x
 ORDER BY c.ord, x.event_seq;

-- name: list_changes_of_servers_since(server_ids, since)
-- Catching up after the LISTEN connection was lost: every change committed lately in the
-- rooms this process has clients for (`server_ids`: servers, and DMs by their channel id, as
-- chatd.gateway.hub names rooms); the caller skips
-- what it already delivered (by event_seq). Reads the created_at indexes.
SELECT u.channel_id, u.event_seq, u.note FROM (
    SELECT m.channel_id, m.event_seq, m.note
      FROM message_row m
     WHERE m.created_at > :since
       AND (m.server_id = any(:server_ids::uuid[]) OR m.channel_id = any(:server_ids::uuid[]))
    UNION ALL
    SELECT ch.channel_id, ch.event_seq, ch.payload::text
      FROM message_change ch
      JOIN chatchannel c ON c.id = ch.channel_id
     WHERE ch.created_at > :since
       AND (c.server_id = any(:server_ids::uuid[]) OR c.id = any(:server_ids::uuid[]))
) u
ORDER BY u.channel_id, u.event_seq;

-- name: list_readable_channels(user_id, channel_ids)
-- Which of these channels the user may read (channel_reader: a member of its server, a
-- recipient of the DM), with the cursor below which its changes were pruned and its latest
-- event_seq.
SELECT c.id AS channel_id, c.server_id, c.last_event_seq, COALESCE(h.pruned_through, 0) AS pruned_through
  FROM chatchannel c
  JOIN channel_reader r ON r.channel_id = c.id AND r.user_id = :user_id
  LEFT JOIN message_change_horizon h ON h.channel_id = c.id
 WHERE c.id = any(:channel_ids::uuid[]);

-- name: prune_changes(retention, lim)$
-- Retention: deletes up to `lim` changes older than `retention` (the oldest first) and moves
-- each channel's horizon past them; returns how many went. Every process runs it now and then.
WITH doomed AS (
    SELECT channel_id, event_seq
      FROM message_change
     WHERE created_at < now() - :retention::interval
     ORDER BY created_at
     LIMIT :lim
       FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM message_change ch
     USING doomed d
     WHERE ch.channel_id = d.channel_id AND ch.event_seq = d.event_seq
    RETURNING ch.channel_id, ch.event_seq
), horizon AS (
    INSERT INTO message_change_horizon AS h (channel_id, pruned_through)
    SELECT g.channel_id, max(g.event_seq)
      FROM gone g
      JOIN chatchannel c ON c.id = g.channel_id
     GROUP BY g.channel_id
    ON CONFLICT (channel_id) DO UPDATE
       SET pruned_through = greatest(h.pruned_through, excluded.pruned_through)
)
SELECT count(*) FROM gone;

-- name: get_channel_event_seq(channel_id)$
-- The channel's latest event_seq (an empty history page's position in the stream).
SELECT last_event_seq FROM chatchannel WHERE id = :channel_id;

-- name: get_change_horizon(channel_id)$
-- The event_seq through which the channel's changes were pruned (0: none were).
SELECT COALESCE((SELECT pruned_through FROM message_change_horizon WHERE channel_id = :channel_id), 0);

-- name: lock_channels_for_changes(server_ids, channel_ids)
-- The first statement of a batch of changes (chatd.domain.changes): each channel row's lock,
-- taken in id order so concurrent batches cannot deadlock, orders the changes of a channel
-- (and its sends, which lock it too), so the statements after it read every change committed
-- before, and the event_seq each takes is the next one, visible only after every smaller one.
-- The channels found with their type: a pair whose channel is not of that server (server_id
-- NULL: not a DM) is missing.
SELECT c.server_id, c.id, c.type
  FROM chatchannel c
 WHERE c.id = any(:channel_ids::uuid[])
   AND EXISTS (SELECT 1 FROM unnest(:server_ids::uuid[], :channel_ids::uuid[]) AS b(server_id, channel_id)
                WHERE b.channel_id = c.id AND b.server_id IS NOT DISTINCT FROM c.server_id)
 ORDER BY c.id
   FOR NO KEY UPDATE;

-- name: get_change(channel_id, event_seq)$
-- One change's note as stored: the whole of a note whose NOTIFY had to leave its text out.
SELECT payload::text FROM message_change WHERE channel_id = :channel_id AND event_seq = :event_seq;
