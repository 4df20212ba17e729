-- name: create_user(username, password_hash, email)^
-- A taken username returns no row (the handler answers 409), not a unique-violation error.
INSERT INTO users (username, password_hash, email)
VALUES (:username, :password_hash, :email)
ON CONFLICT (username) DO NOTHING
RETURNING user_id, username;

-- name: get_user_by_username(username)^
SELECT user_id, username, password_hash
  FROM users
 WHERE username = :username;

-- name: get_user_by_id(user_id)^
-- Every authenticated request resolves its token's user_id here (primary key lookup).
SELECT user_id, username
  FROM users
 WHERE user_id = :user_id;
