-- name: list_channels(server_id)
SELECT id, server_id, name, type, position, created_at
  FROM chatchannel
 WHERE server_id = :server_id
 ORDER BY position, created_at, id;

-- name: create_channel(notify_channel, server_id, name, type, position)^
-- Without a position the channel goes after the last one. Members' sockets hear of it on commit.
WITH created AS (
    INSERT INTO chatchannel (server_id, name, type, position)
    VALUES (
        :server_id, :name, :type,
        COALESCE(:position::integer,
                 (SELECT COALESCE(max(position) + 1, 0) FROM chatchannel WHERE server_id = :server_id))
    )
    RETURNING id, server_id, name, type, position, created_at
)
SELECT id, server_id, name, type, position, created_at,
       pg_notify(:notify_channel, json_build_object(
           'kind', 'channel_created', 'server_id', server_id, 'id', id, 'name', name,
           'type', type, 'position', position)::text) AS notified
  FROM created;
