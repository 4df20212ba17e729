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
