-- name: list_channels(server_id)
-- Threads are listed by their channel (sql/threads.sql list_threads), not here.
SELECT id, server_id, name, type, position, created_at
  FROM chatchannel
 WHERE server_id = :server_id
   AND type <> 'THREAD'
 ORDER BY position, created_at, id;

-- name: lock_server_channels(server_id)$
-- Held until the new channel commits (chatd.domain.channels), so creations in one server take
-- turns: create_channel, a statement of its own after this one, then sees under READ
-- COMMITTED every channel committed by whoever held the row before. A delete of the server
-- waits too, so the INSERT cannot fail on its foreign key; no row when the server is already
-- gone. NO KEY UPDATE, not lock_server's UPDATE: the KEY SHARE that storing a message takes
-- on the row (its foreign-key check) does not wait for it.
SELECT id
  FROM chatserver
 WHERE id = :server_id
   FOR NO KEY UPDATE;

-- name: create_channel(notify_channel, server_id, name, type, position)^
-- Without a position the channel goes after the last one: run after lock_server_channels,
-- channels created at once get distinct, consecutive positions in commit order. A position
-- given is kept as given, whatever else is created meanwhile (channels sharing one are
-- listed in creation order). Members' sockets hear of it on commit.
WITH created AS (
    INSERT INTO chatchannel (server_id, name, type, position)
    VALUES (
        :server_id, :name, :type,
        COALESCE(:position::integer,
                 (SELECT COALESCE(max(position) + 1, 0) FROM chatchannel WHERE server_id = :server_id AND type <> 'THREAD'))
    )
    RETURNING id, server_id, name, type, position, created_at
)
SELECT id, server_id, name, type, position, created_at,
       pg_notify(:notify_channel, json_build_object(
           'kind', 'channel_created', 'server_id', server_id, 'id', id, 'name', name,
           'type', type, 'position', position)::text) AS notified
  FROM created;
