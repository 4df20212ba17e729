-- name: ban_user(server_id, user_id, reason, banned_by)^
-- Banning again replaces the reason. No row when there is no such user (a deleted account is
-- no one).
WITH banned AS (
    INSERT INTO server_ban (server_id, user_id, reason, banned_by)
    SELECT :server_id, u.user_id, :reason, :banned_by
      FROM users u
     WHERE u.user_id = :user_id
       AND u.deleted_at IS NULL
    ON CONFLICT (server_id, user_id) DO UPDATE
       SET reason = EXCLUDED.reason, banned_by = EXCLUDED.banned_by
    RETURNING user_id, reason, banned_by, created_at
)
SELECT b.user_id, u.username, b.reason, b.banned_by, b.created_at
  FROM banned b
  JOIN users u ON u.user_id = b.user_id;

-- name: lift_ban(server_id, user_id)$
DELETE FROM server_ban
 WHERE server_id = :server_id
   AND user_id = :user_id
RETURNING user_id;

-- name: list_bans(server_id)
-- The primary key (server_id, user_id) finds a server's bans.
SELECT b.user_id, u.username, b.reason, b.banned_by, b.created_at
  FROM server_ban b
  JOIN users u ON u.user_id = b.user_id
 WHERE b.server_id = :server_id
 ORDER BY b.created_at, b.user_id;

-- name: is_banned(server_id, user_id)$
SELECT EXISTS (SELECT 1 FROM server_ban WHERE server_id = :server_id AND user_id = :user_id);
