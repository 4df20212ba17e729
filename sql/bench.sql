-- name: bench_insert_message(server_id, channel_id, user_id, text, seq)^
-- The per-row INSERT ceiling: a row as insert_message_batch (sql/messages.sql) stores each
-- message, with none of its logic (no send-rule check, no channel-row lock, no nonce lookup,
-- no NOTIFY). Parameters appear in declared order, so the ceiling can run this text as
-- $1..$5 on a bare asyncpg connection.
INSERT INTO chatmessage (server_id, channel_id, user_id, text, seq, event_seq)
VALUES (:server_id, :channel_id, :user_id, :text, :seq, :seq)
RETURNING id, created_at;

-- name: bench_insert_message_notify(server_id, channel_id, user_id, text, seq, notify_channel)^
-- The same row plus a NOTIFY in its transaction, as insert_message_batch sends one per
-- message: PostgreSQL serializes the commits of notifying transactions (one global queue
-- lock, held across the commit's WAL flush), so this shows what one NOTIFY per message
-- costs by itself.
INSERT INTO chatmessage (server_id, channel_id, user_id, text, seq, event_seq)
VALUES (:server_id, :channel_id, :user_id, :text, :seq, :seq)
RETURNING id, created_at, pg_notify(:notify_channel, id::text) AS notified;

-- name: bench_notify(notify_channel, payload)$
-- The LISTEN/NOTIFY round-trip ceiling: a note on its own channel, so no chatd hears it.
SELECT pg_notify(:notify_channel, :payload);

-- name: bench_set_last_seq(channel_id, last_seq)!
-- After COPY filled a channel's history (new messages only: each event_seq is its seq), later
-- posts continue both sequences.
UPDATE chatchannel SET last_seq = :last_seq, last_event_seq = :last_seq WHERE id = :channel_id;

-- name: bench_message_at_depth(channel_id, depth)$
-- The id of the message `depth` places from the newest: a `before` anchor as deep in history
-- as the same page fetched with `offset`.
SELECT id
  FROM chatmessage
 WHERE channel_id = :channel_id
 ORDER BY created_at DESC, id DESC
 LIMIT 1 OFFSET :depth;

-- name: bench_count_messages(ids)$
-- How many of the acknowledged message ids are in the table (all of them, or data was lost).
SELECT count(*) FROM chatmessage WHERE id = any(:ids::uuid[]);

-- name: bench_channel_seqs(channel_ids)
-- Each bench channel's last seq, row count and last event_seq: members connected throughout
-- must have received seqs 1..last_seq and every event_seq since exactly once, and there must
-- be one row per seq.
SELECT c.id, c.last_seq, (SELECT count(*) FROM chatmessage m WHERE m.channel_id = c.id) AS rows, c.last_event_seq
  FROM chatchannel c
 WHERE c.id = any(:channel_ids::uuid[]);

-- name: bench_vacuum#
-- Once the tables are loaded, before anything is measured: otherwise autovacuum does this in
-- the middle of a measured phase (pgbench vacuums before its runs for the same reason).
VACUUM (ANALYZE) chatmessage, chatchannel, chatserver, servermembership, users, read_state, message_mention;

-- name: bench_database_settings()^
-- What makes commits durable or not, for the report.
SELECT current_setting('fsync') AS fsync,
       current_setting('synchronous_commit') AS synchronous_commit,
       current_setting('server_version') AS server_version;

-- name: bench_delete_dms_of(prefix)$
-- The conversations of the bench's users, with their messages.
WITH deleted AS (
    DELETE FROM chatchannel
     WHERE server_id IS NULL
       AND id IN (SELECT r.channel_id FROM dm_recipient r JOIN users u ON u.user_id = r.user_id
                   WHERE u.username LIKE :prefix || '%')
    RETURNING 1
)
SELECT count(*) FROM deleted;

-- name: bench_delete_users(prefix)$
-- After a run against a configured database: the bench's users (their servers go first).
WITH deleted AS (DELETE FROM users WHERE username LIKE :prefix || '%' RETURNING 1)
SELECT count(*) FROM deleted;

-- name: bench_delete_servers_of(prefix)$
-- The servers the bench's users created, with their channels, messages and memberships.
WITH deleted AS (
    DELETE FROM chatserver
     WHERE creator_id IN (SELECT user_id FROM users WHERE username LIKE :prefix || '%')
    RETURNING 1
)
SELECT count(*) FROM deleted;

-- name: bench_list_message_ids(channel_id, lim)
-- A channel's first messages, oldest first: the ones the resume phase edits and reacts to.
SELECT id FROM chatmessage WHERE channel_id = :channel_id ORDER BY seq LIMIT :lim;

-- name: bench_read_changes(channel_id, after_event_seq, lim)
-- The resume ceiling: one channel's changes after a cursor, as a plain keyset read of both
-- tables by (channel_id, event_seq): the new messages' rows and the other changes' stored
-- notes, with no join, no note built, nothing sent. Parameters appear in declared order, so
-- the ceiling runs this text as $1..$3 on a bare asyncpg connection.
SELECT u.* FROM (
    (SELECT event_seq, id, user_id, text, created_at, seq, NULL::text AS payload
       FROM chatmessage
      WHERE channel_id = :channel_id AND event_seq > :after_event_seq
      ORDER BY event_seq
      LIMIT :lim)
    UNION ALL
    (SELECT event_seq, NULL, NULL, NULL, NULL, NULL, payload::text
       FROM message_change
      WHERE channel_id = :channel_id AND event_seq > :after_event_seq
      ORDER BY event_seq
      LIMIT :lim)
) u
ORDER BY u.event_seq
LIMIT :lim;

-- name: bench_add_reactions(channel_id, depth, lim, emojis, user_ids)$
-- History with reactions: each of `emojis` from each of `user_ids` on the `lim` messages that
-- follow the one `depth` places from the newest (the page a `before` anchor at that depth
-- reads). Loaded directly, like the COPYed history: no change is recorded for them.
WITH added AS (
    INSERT INTO message_reaction (channel_id, message_id, emoji, user_id)
    SELECT :channel_id, m.id, e.emoji, u.user_id
      FROM (SELECT id FROM chatmessage
             WHERE channel_id = :channel_id
             ORDER BY created_at DESC, id DESC
            OFFSET :depth + 1 LIMIT :lim) m
     CROSS JOIN unnest(:emojis::text[]) AS e(emoji)
     CROSS JOIN unnest(:user_ids::uuid[]) AS u(user_id)
    RETURNING 1
)
SELECT count(*) FROM added;

-- name: bench_last_event_seq(channel_id)$
-- The channel's latest event_seq: where a resume from 0 must end.
SELECT last_event_seq FROM chatchannel WHERE id = :channel_id;

-- name: bench_search_index_off#
-- Sends without keeping messages searchable (the trials that measure what search costs them):
-- no tsvector is computed, and the GIN index has none to index.
ALTER TABLE chatmessage DISABLE TRIGGER chatmessage_search_vector;

-- name: bench_search_index_on#
ALTER TABLE chatmessage ENABLE TRIGGER chatmessage_search_vector;

-- name: bench_index_unsearched()$
-- The messages sent while the trigger was off, made searchable afterwards: how many.
WITH indexed AS (
    UPDATE chatmessage
       SET search_vector = to_tsvector(search_language(), text)
     WHERE search_vector IS NULL
    RETURNING 1
)
SELECT count(*) FROM indexed;

-- name: bench_fill_unreads(server_id, owner_id, reader_id, messages)$
-- The unreads phase's reader: `messages` messages in each TEXT channel of the server, the
-- reader's pointer half way (every channel has something unread), and above it what each count
-- term reads: the reader's own messages (every 10th; they marked the channel unread before
-- them), deletions (every 7th), direct mentions of the reader (every 9th) and @everyone (every
-- 25th). Returns the messages stored.
WITH channels AS (
    UPDATE chatchannel
       SET last_seq = last_seq + :messages, last_event_seq = last_event_seq + :messages
     WHERE server_id = :server_id AND type = 'TEXT'
    RETURNING id, last_seq - :messages AS base, last_event_seq - :messages AS event_base
), stored AS (
    INSERT INTO chatmessage (server_id, channel_id, user_id, text, seq, event_seq, deleted_at, mention_everyone)
    SELECT :server_id, c.id, CASE WHEN i % 10 = 0 THEN :reader_id::uuid ELSE :owner_id::uuid END,
           CASE WHEN i % 7 = 0 THEN '' ELSE 'unread ' || i END, c.base + i, c.event_base + i,
           CASE WHEN i % 7 = 0 THEN now() END, i % 25 = 0
      FROM channels c, generate_series(1, :messages) i
    RETURNING channel_id, seq
), mentioned AS (
    INSERT INTO message_mention (channel_id, seq, user_id)
    SELECT channel_id, seq, :reader_id FROM stored WHERE seq % 9 = 0
), pointers AS (
    INSERT INTO read_state (user_id, channel_id, last_read_seq, own_seq)
    SELECT :reader_id, id, base + :messages / 2, base + :messages FROM channels
)
SELECT count(*) FROM stored;

-- name: bench_list_reader_channels(user_id)
-- The unreads phase's ceiling: a plain query listing the same channels as GET /chat/unreads
-- (and their last seq), without any count.
SELECT r.server_id, c.id AS channel_id, c.last_seq
  FROM channel_reader r
  JOIN chatchannel c ON c.id = r.channel_id
 WHERE r.user_id = :user_id
   AND c.type <> 'VOICE'
 ORDER BY r.server_id, c.position, c.id;

-- name: bench_mention_rows(channel_id)$
-- The mention rows of a channel's messages: what @everyone must not multiply by its members.
SELECT count(*) FROM message_mention WHERE channel_id = :channel_id;
