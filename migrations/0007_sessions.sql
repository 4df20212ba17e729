-- depends: 0003_chatd_node
-- Sessions can end: tokens revoked one by one (logout), all of a user's at once (logout
-- everywhere, a password change, account deletion), and accounts deleted.

-- Every token issued before this moment is refused; NULL: the user never revoked a token, so
-- the original deployment's tokens (no `jti`) are still accepted. A logout sets at least the
-- epoch, which ends those tokens and no token chatd issued. Whole seconds, like a token's `iat`.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;
-- A deleted account's row stays (its messages and the servers it created refer to it), under a
-- name no one can register or log in with; its own name is free again.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;

-- Tokens revoked one by one, until they would have expired anyway; each revocation deletes
-- the rows that are past it.
CREATE TABLE revoked_token (
    jti        uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);
CREATE INDEX ix_revoked_token_expires_at ON revoked_token (expires_at);
