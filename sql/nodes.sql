-- name: upsert_node(node_id, host, pid, started_at, connections, users, stale_seconds, dead_seconds)$
-- One row per running process, refreshed on every beat; an insert each time brings the row
-- back if it was deleted. Rows nobody refreshed for stale_seconds are processes that died
-- without a clean stop: the live ones remove them. Answers whether the row was missing or
-- older than dead_seconds: then the live processes may have taken this one for dead and
-- removed its users' presence (chatd_node_user), which it writes again.
WITH stale AS (
    DELETE FROM chatd_node
     WHERE node_id <> :node_id
       AND updated_at < now() - make_interval(secs => :stale_seconds)
), before AS (
    SELECT updated_at FROM chatd_node WHERE node_id = :node_id
), saved AS (
    INSERT INTO chatd_node (node_id, host, pid, started_at, connections, users, updated_at)
    VALUES (:node_id, :host, :pid, :started_at, :connections, :users, now())
    ON CONFLICT (node_id) DO UPDATE
       SET connections = excluded.connections,
           users = excluded.users,
           updated_at = excluded.updated_at
    RETURNING node_id
)
SELECT NOT EXISTS (SELECT FROM before WHERE updated_at >= now() - make_interval(secs => :dead_seconds)) AS swept
  FROM saved;

-- name: delete_node(node_id)!
-- A clean stop: the process is gone, so is its row.
DELETE FROM chatd_node WHERE node_id = :node_id;
