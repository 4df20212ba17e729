-- name: list_revoked_tokens()
-- Tokens revoked one by one, and until when the row is kept.
SELECT jti, user_id, expires_at
  FROM revoked_token
 ORDER BY expires_at;

-- name: get_account(user_id)^
-- What is left of an account after it was deleted.
SELECT username, password_hash, email, deleted_at IS NOT NULL AS deleted
  FROM users
 WHERE user_id = :user_id;

-- name: lock_revoked_tokens#
-- Every token check waits (it reads revoked_token) until the caller's transaction ends.
LOCK TABLE revoked_token IN ACCESS EXCLUSIVE MODE;
