-- name: list_server_channels()
-- Every channel as (server, channel, type, position): what `chatd seed` built.
SELECT s.name AS server, c.name AS channel, c.type, c.position
  FROM chatchannel c
  JOIN chatserver s ON s.id = c.server_id
 ORDER BY s.name, c.position;

-- name: list_memberships_by_name()
SELECT s.name AS server, u.username, m.role
  FROM servermembership m
  JOIN chatserver s ON s.id = m.server_id
  JOIN users u ON u.user_id = m.user_id
 ORDER BY s.name, u.username;

-- name: get_channel_by_name(server, channel)^
SELECT c.id, c.server_id
  FROM chatchannel c
  JOIN chatserver s ON s.id = c.server_id
 WHERE s.name = :server
   AND c.name = :channel;

-- name: list_nodes()
SELECT host, pid, connections, users FROM chatd_node ORDER BY pid;

-- name: insert_stale_node(node_id)!
-- What a process killed with SIGKILL leaves: a row nobody refreshes.
INSERT INTO chatd_node (node_id, host, pid, started_at, updated_at)
VALUES (:node_id, 'gone', 1, now() - interval '1 day', now() - interval '1 hour');

-- name: forget_migration(migration_id)^
-- As if the migration had not been applied: what a chatd newer than its database sees.
DELETE FROM _yoyo_migration WHERE migration_id = :migration_id
RETURNING migration_hash, migration_id, applied_at_utc;

-- name: restore_migration(migration_hash, migration_id, applied_at_utc)!
INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc)
VALUES (:migration_hash, :migration_id, :applied_at_utc);
