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

-- name: add_online_members(server_id, n)!
-- n more members of the server, each shown online (as if connected elsewhere).
WITH made AS (
    INSERT INTO users (username) SELECT 'online' || i FROM generate_series(1, :n) AS i RETURNING user_id
), joined AS (
    INSERT INTO servermembership (server_id, user_id, role) SELECT :server_id, user_id, 'MEMBER' FROM made
)
INSERT INTO user_presence (user_id, shown) SELECT user_id, 'online' FROM made;

-- name: shown_status(user_id)$
SELECT shown FROM user_presence WHERE user_id = :user_id;
