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
-- Each bench channel's last seq and row count: members connected throughout must have
-- received seqs 1..last_seq exactly once, and there must be one row per seq.
SELECT c.id, c.last_seq, (SELECT count(*) FROM chatmessage m WHERE m.channel_id = c.id) AS rows
  FROM chatchannel c
 WHERE c.id = any(:channel_ids::uuid[]);

-- name: bench_vacuum#
-- Once the tables are loaded, before anything is measured: otherwise autovacuum does this in
-- the middle of a measured phase (pgbench vacuums before its runs for the same reason).
VACUUM (ANALYZE) chatmessage, chatchannel, chatserver, servermembership, users;

-- name: bench_database_settings()^
-- What makes commits durable or not, for the report.
SELECT current_setting('fsync') AS fsync,
       current_setting('synchronous_commit') AS synchronous_commit,
       current_setting('server_version') AS server_version;

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
