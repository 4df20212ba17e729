-- name: create_server(name, icon, creator_id)^
-- The server and its `general` channel in one statement; its ADMIN joins through add_members
-- in the same transaction, so a server never exists without either.
WITH server AS (
    INSERT INTO chatserver (name, icon, creator_id)
    VALUES (:name, :icon, :creator_id)
    RETURNING id, name, icon, creator_id, created_at
), general AS (
    INSERT INTO chatchannel (server_id, name, type, position)
    SELECT id, 'general', 'TEXT', 0 FROM server
)
SELECT id, name, icon, creator_id, created_at, 'ADMIN' AS role
  FROM server;

-- name: list_servers_of_user(user_id)
-- "My servers": an index range on servermembership(user_id), then primary-key lookups.
SELECT s.id, s.name, s.icon, s.creator_id, s.created_at, m.role
  FROM servermembership m
  JOIN chatserver s ON s.id = m.server_id
 WHERE m.user_id = :user_id
 ORDER BY s.created_at, s.id;

-- name: get_server_for_member(server_id, user_id)^
-- No row both for a missing server and for a non-member: the caller cannot tell them apart.
SELECT s.id, s.name, s.icon, s.creator_id, s.created_at, m.role
  FROM servermembership m
  JOIN chatserver s ON s.id = m.server_id
 WHERE m.server_id = :server_id
   AND m.user_id = :user_id;

-- name: delete_server(notify_channel, server_id)$
-- Channels, messages and memberships go with it (ON DELETE CASCADE); connected members hear
-- server_deleted on commit. The nonce claims of its messages of the last 5 minutes go too (a
-- claim has no foreign key to its message, which would cost every send a check), so that
-- those nonces can be sent again at once.
WITH claims AS (
    DELETE FROM chatmessage_nonce n
     USING chatchannel c
      JOIN chatmessage m ON m.channel_id = c.id AND m.created_at > now() - interval '5 minutes'
     WHERE c.server_id = :server_id
       AND n.user_id = m.user_id AND n.nonce = m.nonce AND n.message_id = m.id
), deleted AS (
    DELETE FROM chatserver
     WHERE id = :server_id
    RETURNING id
)
SELECT pg_notify(:notify_channel, json_build_object('kind', 'server_deleted', 'server_id', id)::text)
  FROM deleted;
