-- name: create_dm(user_ids)$
-- A conversation of these users, as migration 0014 stores one (its REST routes come with DMs).
WITH dm AS (
    INSERT INTO chatchannel (server_id, name, type) VALUES (NULL, 'dm', 'GROUP_DM') RETURNING id
), recipients AS (
    INSERT INTO dm_recipient (channel_id, user_id) SELECT dm.id, u FROM dm, unnest(:user_ids::uuid[]) AS u
)
SELECT id FROM dm;

-- name: node_users()
SELECT node_id, user_id, expires_at FROM chatd_node_user ORDER BY user_id, node_id;
