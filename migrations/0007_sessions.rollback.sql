DROP TABLE revoked_token;
ALTER TABLE users DROP COLUMN deleted_at;
ALTER TABLE users DROP COLUMN tokens_valid_after;
