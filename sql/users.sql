-- name: create_user(username, password_hash, email)^
-- A taken username, in any case, returns no row (the handler answers 409), not a
-- unique-violation error. No conflict target: "Alice" hits uq_users_lower_username, "alice"
-- also users_username_key, and two racing sign-ups could meet at either.
INSERT INTO users (username, password_hash, email)
VALUES (:username, :password_hash, :email)
ON CONFLICT DO NOTHING
RETURNING user_id, username;

-- name: get_user_by_username(username)^
-- Any case finds the account (uq_users_lower_username serves the lookup); the row carries the
-- spelling it was registered with, which is what responses, tokens and events show.
SELECT user_id, username, password_hash
  FROM users
 WHERE lower(username) = lower(:username);

-- name: get_user_by_id(user_id)^
-- Every authenticated request resolves its token's user_id here (primary key lookup).
SELECT user_id, username
  FROM users
 WHERE user_id = :user_id;

-- name: get_users_with_servers(user_ids)
-- WebSocket connects that arrive together, in one round trip: each token's user (absent when
-- they no longer exist) with each server they are a member of, one row each (server columns
-- NULL, one row, when they are in none).
SELECT u.user_id, u.username, s.id, s.name, s.icon, s.creator_id, s.created_at, m.role
  FROM users u
  LEFT JOIN servermembership m ON m.user_id = u.user_id
  LEFT JOIN chatserver s ON s.id = m.server_id
 WHERE u.user_id = any(:user_ids::uuid[])
 ORDER BY u.user_id, s.created_at, s.id;
