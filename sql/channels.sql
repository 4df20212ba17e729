-- name: list_channels(server_id)
SELECT id, server_id, name, type, position, created_at
  FROM chatchannel
 WHERE server_id = :server_id
 ORDER BY position, created_at, id;

-- name: create_channel(server_id, name, type, position)^
-- Without a position the channel goes after the last one.
INSERT INTO chatchannel (server_id, name, type, position)
VALUES (
    :server_id, :name, :type,
    COALESCE(:position::integer,
             (SELECT COALESCE(max(position) + 1, 0) FROM chatchannel WHERE server_id = :server_id))
)
RETURNING id, server_id, name, type, position, created_at;
