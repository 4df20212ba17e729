-- name: lock_seed()$
-- Held for `chatd seed`'s transaction: two seeds at once would otherwise both find no sample
-- server and create six.
SELECT pg_advisory_xact_lock(hashtext('chatd seed'));

-- name: get_first_user()^
-- The sample servers' ADMIN: the oldest account (not a deleted one).
SELECT user_id, username
  FROM users
 WHERE deleted_at IS NULL
 ORDER BY created_at, user_id
 LIMIT 1;

-- name: get_server_id_by_name(name)$
-- The seed finds its sample servers by name, so a second run adds nothing.
SELECT id
  FROM chatserver
 WHERE name = :name
 ORDER BY created_at, id
 LIMIT 1;

-- name: create_seed_server(name, creator_id)$
-- Channels and members are added by the next queries (create_server also adds `general`).
INSERT INTO chatserver (name, creator_id)
VALUES (:name, :creator_id)
RETURNING id;

-- name: add_seed_channel(server_id, name, type)$
-- No row (None) when the server already has a channel of that name; else it goes after the
-- server's uncategorized channels (positions stay dense, the seed's in the seed's order).
INSERT INTO chatchannel (server_id, name, type, position)
SELECT :server_id::uuid, :name::text, :type::text,
       (SELECT count(*) FROM chatchannel
         WHERE server_id = :server_id AND category_id IS NULL AND type IN ('TEXT', 'VOICE'))
 WHERE NOT EXISTS (SELECT 1 FROM chatchannel WHERE server_id = :server_id AND name = :name AND type <> 'THREAD')
RETURNING id;

-- name: list_user_ids()
-- Every account, oldest first: the sample servers' members (add_members skips those in
-- already; deleted accounts are no one's members).
SELECT user_id
  FROM users
 WHERE deleted_at IS NULL
 ORDER BY created_at, user_id;

-- name: count_server_channels_and_members(server_id)^
SELECT (SELECT count(*) FROM chatchannel WHERE server_id = :server_id AND type <> 'THREAD') AS channels,
       (SELECT count(*) FROM servermembership WHERE server_id = :server_id) AS members;
