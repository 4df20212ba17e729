-- name: terminate_listeners()
-- Every chatd process's LISTEN connection (by its application_name), as a PostgreSQL restart would.
SELECT pg_terminate_backend(pid) AS terminated
  FROM pg_stat_activity
 WHERE application_name = 'chatd-listener';

-- name: count_messages_with_ids(ids)$
SELECT count(*) FROM chatmessage WHERE id = any(:ids::uuid[]);

-- name: channel_seqs(channel_id)
SELECT seq FROM chatmessage WHERE channel_id = :channel_id ORDER BY seq;

-- name: lock_channels()!
-- Held in a transaction, this makes every send wait on the channel table (past a lock_timeout).
LOCK TABLE chatchannel IN ACCESS EXCLUSIVE MODE;

-- name: hold_channel_row(channel_id)$
-- Held in a transaction, this makes the group commits that store into the channel wait in the
-- middle of their statement, after its snapshot was taken.
SELECT id FROM chatchannel WHERE id = :channel_id FOR UPDATE;

-- name: count_messages_by_nonce(channel_id)
SELECT nonce, count(*) AS messages FROM chatmessage WHERE channel_id = :channel_id GROUP BY nonce;

-- name: age_messages(seconds)!
-- As if every message, and every nonce claim, had been made `seconds` earlier.
WITH messages AS (
    UPDATE chatmessage SET created_at = created_at - make_interval(secs => :seconds)
)
UPDATE chatmessage_nonce SET claimed_at = claimed_at - make_interval(secs => :seconds);

-- name: list_nonce_claims()
SELECT nonce, message_id FROM chatmessage_nonce ORDER BY nonce;

-- name: delete_server_leaving_claims(server_id)!
-- A server deleted as a message with a nonce was being stored in it: the message goes with the
-- server, and its claim, committed after delete_server read the claims, stays.
DELETE FROM chatserver WHERE id = :server_id;
