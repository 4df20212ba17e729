-- Threads (migration 0024): a thread is a chatchannel row of type THREAD, so its messages,
-- edits, reactions, changes and read state use the channel statements with the thread's id.
-- These are what only threads have: starting one on a message, its settings, its followers,
-- the listing of a channel's threads and the auto-archive sweep. Sends keep its counters
-- (insert_message_batch in sql/messages.sql).

-- name: get_thread_start_access(server_id, channel_id, message_id, user_id)^
-- What starting a thread on a message depends on (permissions.require_start_thread): no row
-- when the caller is not a member of the server; channel_type NULL when the channel is not
-- this server's; message_channel_id NULL when there is no such message; thread_id the thread
-- started on it already.
SELECT m.role, c.type AS channel_type, msg.channel_id AS message_channel_id,
       msg.deleted_at IS NOT NULL AS message_deleted, t.id AS thread_id
  FROM (SELECT) AS one
  JOIN servermembership m ON m.server_id = :server_id AND m.user_id = :user_id
  LEFT JOIN chatchannel c ON c.id = :channel_id AND c.server_id = :server_id
  LEFT JOIN chatmessage msg ON msg.id = :message_id
  LEFT JOIN chatchannel t ON t.root_message_id = :message_id;

-- name: create_thread(notify_channel, server_id, channel_id, message_id, user_id, name, auto_archive_minutes)^
-- The thread, its first followers (the root's author and its creator) and thread_created for
-- the server's members, in one statement that applies the rule it was checked by: a live
-- message of a TEXT channel of the server, the caller a member. The root is share-locked, so a
-- deletion of it waits for this to commit (and then leaves the thread standing), and one
-- committed first makes this return no row. A second thread on the message: no row (the
-- unique root_message_id), and the caller is told which thread it is (409).
WITH root AS (
    SELECT msg.id, msg.user_id, c.server_id, c.id AS channel_id
      FROM chatmessage msg
      JOIN chatchannel c ON c.id = msg.channel_id
     WHERE msg.id = :message_id
       AND msg.channel_id = :channel_id
       AND msg.deleted_at IS NULL
       AND c.server_id = :server_id
       AND c.type = 'TEXT'
       AND EXISTS (SELECT 1 FROM servermembership s WHERE s.server_id = c.server_id AND s.user_id = :user_id)
       FOR SHARE OF msg
), created AS (
    INSERT INTO chatchannel (server_id, name, type, position, parent_channel_id, root_message_id, created_by,
                             auto_archive_minutes, last_message_at)
    SELECT server_id, :name, 'THREAD', 0, channel_id, id, :user_id, :auto_archive_minutes, clock_timestamp()
      FROM root
    ON CONFLICT (root_message_id) DO NOTHING
    RETURNING id, server_id, parent_channel_id, root_message_id, name, created_by, created_at, archived, locked,
              auto_archive_minutes, message_count, last_message_at
), followed AS (
    INSERT INTO thread_follower (thread_id, user_id, since_seq)
    SELECT DISTINCT c.id, f.user_id, 0::bigint
      FROM created c, root r, LATERAL (VALUES (r.user_id), (:user_id::uuid)) AS f(user_id)
    ON CONFLICT DO NOTHING
)
SELECT c.id, pg_notify(:notify_channel, json_build_object(
           'kind', 'thread_created', 'server_id', c.server_id, 'thread', json_build_object(
               'id', c.id, 'type', 'thread', 'server_id', c.server_id, 'parent_channel_id', c.parent_channel_id,
               'root_message_id', c.root_message_id, 'name', c.name, 'created_by', c.created_by,
               'created_at', c.created_at, 'archived', c.archived, 'locked', c.locked,
               'auto_archive_minutes', c.auto_archive_minutes, 'message_count', c.message_count,
               'last_message_at', c.last_message_at, 'root_deleted', false))::text) AS notified
  FROM created c;

-- name: get_thread(thread_id, user_id)^
-- A thread as a member of its server sees it (no row for anyone else), and whether they follow it.
SELECT t.*, EXISTS (SELECT 1 FROM thread_follower f WHERE f.thread_id = t.id AND f.user_id = :user_id) AS following
  FROM thread_row t
 WHERE t.id = :thread_id
   AND EXISTS (SELECT 1 FROM channel_reader r WHERE r.channel_id = t.id AND r.user_id = :user_id);

-- name: get_thread_access(thread_id, user_id)^
-- What changing a thread depends on (permissions.require_thread_change): the caller's role in
-- its server and who started it; no row when the caller does not read it, or it is no thread.
SELECT r.role, t.created_by
  FROM chatchannel t
  JOIN channel_reader r ON r.channel_id = t.id AND r.user_id = :user_id
 WHERE t.id = :thread_id
   AND t.type = 'THREAD';

-- name: update_thread(notify_channel, thread_id, name, archived, locked)^
-- PATCH: what is given changes (NULL: kept), and the server's members hear thread_updated.
-- Unarchiving counts as activity, so the sweep does not archive the thread again at once.
WITH updated AS (
    UPDATE chatchannel t
       SET name = COALESCE(:name::text, t.name),
           archived = COALESCE(:archived::boolean, t.archived),
           locked = COALESCE(:locked::boolean, t.locked),
           last_message_at = CASE WHEN t.archived AND NOT COALESCE(:archived::boolean, true)
                                  THEN clock_timestamp() ELSE t.last_message_at END
     WHERE t.id = :thread_id
       AND t.type = 'THREAD'
    RETURNING t.id, t.server_id, t.name, t.message_count, t.last_message_at, t.archived, t.locked
)
SELECT u.id, pg_notify(:notify_channel, json_build_object(
           'kind', 'thread_updated', 'server_id', u.server_id, 'thread_id', u.id, 'name', u.name,
           'message_count', u.message_count, 'last_message_at', u.last_message_at, 'archived', u.archived,
           'locked', u.locked)::text) AS notified
  FROM updated u;

-- name: delete_thread(notify_channel, thread_id)^
-- The thread goes with its messages, changes, read state and followers (ON DELETE CASCADE);
-- the server's members hear thread_deleted. Its recent nonce claims go too, as a server's do
-- (delete_server), so those nonces can be sent again at once. Its id is kept in
-- deleted_channel, as a deleted channel's is, so a resume of it hears channel_deleted.
WITH claims AS (
    DELETE FROM chatmessage_nonce n
     USING chatmessage m
     WHERE m.channel_id = :thread_id
       AND m.created_at > now() - interval '5 minutes'
       AND n.user_id = m.user_id AND n.nonce = m.nonce AND n.message_id = m.id
), deleted AS (
    DELETE FROM chatchannel
     WHERE id = :thread_id
       AND type = 'THREAD'
    RETURNING id, server_id, parent_channel_id
), kept AS (
    INSERT INTO deleted_channel (id, server_id)
    SELECT id, server_id FROM deleted
    ON CONFLICT (id) DO NOTHING  -- deleted with its channel meanwhile: tombstoned already
)
SELECT id, pg_notify(:notify_channel, json_build_object(
           'kind', 'thread_deleted', 'server_id', server_id, 'thread_id', id,
           'parent_channel_id', parent_channel_id)::text) AS notified
  FROM deleted;

-- name: list_threads(channel_id, archived, before, lim)
-- A channel's threads, the latest active first, older than `before` (NULL: from the newest):
-- a range of ix_chatchannel_thread_activity, never a sort of every thread.
SELECT t.*
  FROM thread_row t
 WHERE t.parent_channel_id = :channel_id
   AND t.archived = :archived
   AND t.last_message_at < COALESCE(:before::timestamptz, 'infinity')
 ORDER BY t.last_message_at DESC, t.id
 LIMIT :lim;

-- name: follow_thread(notify_channel, thread_id, user_id)!
-- Counted from the thread's last message now: what came before is not unread for them. The
-- processes that hold the thread's followers (chatd.gateway.notifier) hear of a new one.
WITH followed AS (
    INSERT INTO thread_follower (thread_id, user_id, since_seq)
    SELECT t.id, :user_id, t.last_seq
      FROM chatchannel t
     WHERE t.id = :thread_id
       AND t.type = 'THREAD'
    ON CONFLICT DO NOTHING
    RETURNING thread_id, user_id, since_seq
)
SELECT pg_notify(:notify_channel, json_build_object(
           'kind', 'thread_followed', 'thread_id', f.thread_id, 'user_id', f.user_id,
           'since_seq', f.since_seq)::text)
  FROM followed f;

-- name: unfollow_thread(notify_channel, thread_id, user_id)!
WITH unfollowed AS (
    DELETE FROM thread_follower
     WHERE thread_id = :thread_id
       AND user_id = :user_id
    RETURNING thread_id, user_id
)
SELECT pg_notify(:notify_channel, json_build_object(
           'kind', 'thread_unfollowed', 'thread_id', u.thread_id, 'user_id', u.user_id)::text)
  FROM unfollowed u;

-- name: get_thread_followers(channel_id)^
-- Whether a channel is a thread and, if so, its followers ({user id: since_seq}): what a
-- process delivering a message of it needs before @everyone, @here or an `all` setting may
-- notify anyone (only followers hear of a thread's messages). Read once per channel and
-- process, then kept by the notes (chatd.gateway.notifier); no row: the channel is gone.
SELECT c.type = 'THREAD' AS thread,
       (SELECT json_object_agg(f.user_id, f.since_seq) FROM thread_follower f WHERE f.thread_id = c.id)::text
           AS followers
  FROM chatchannel c
 WHERE c.id = :channel_id;

-- name: archive_idle_threads(notify_channel, lim)$
-- The sweep: open threads without a message for their auto_archive_minutes are archived, the
-- longest idle first, at most `lim` a statement (how many it archived). A thread a send holds
-- is skipped (SKIP LOCKED): that send makes it active again anyway. Each goes out as
-- thread_archived, which clients hear as thread_updated.
WITH idle AS (
    SELECT t.id
      FROM chatchannel t
     WHERE t.type = 'THREAD'
       AND NOT t.archived
       AND t.last_message_at < now() - interval '60 minutes'  -- the shortest auto_archive_minutes
       AND t.last_message_at < now() - make_interval(mins => t.auto_archive_minutes)
     ORDER BY t.last_message_at
     LIMIT :lim
       FOR NO KEY UPDATE SKIP LOCKED
), archived AS (
    UPDATE chatchannel t
       SET archived = true
      FROM idle i
     WHERE t.id = i.id
    RETURNING t.id, t.server_id, t.name, t.message_count, t.last_message_at, t.archived, t.locked
)
SELECT count(pg_notify(:notify_channel, json_build_object(
           'kind', 'thread_archived', 'server_id', a.server_id, 'thread_id', a.id, 'name', a.name,
           'message_count', a.message_count, 'last_message_at', a.last_message_at, 'archived', a.archived,
           'locked', a.locked)::text))
  FROM archived a;
