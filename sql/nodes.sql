-- name: upsert_node(node_id, host, pid, started_at, connections, users, stale_seconds)!
-- One row per running process, refreshed on every beat; an insert each time brings the row
-- back if it was deleted. Rows nobody refreshed for stale_seconds are processes that died
-- without a clean stop: the live ones remove them.
WITH stale AS (
    DELETE FROM chatd_node
     WHERE node_id <> :node_id
       AND updated_at < now() - make_interval(secs => :stale_seconds)
)
INSERT INTO chatd_node (node_id, host, pid, started_at, connections, users, updated_at)
VALUES (:node_id, :host, :pid, :started_at, :connections, :users, now())
ON CONFLICT (node_id) DO UPDATE
   SET connections = excluded.connections,
       users = excluded.users,
       updated_at = excluded.updated_at;

-- name: delete_node(node_id)!
-- A clean stop: the process is gone, so is its row.
DELETE FROM chatd_node WHERE node_id = :node_id;
