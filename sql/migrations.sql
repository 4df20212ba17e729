-- name: lock_migrations()$
-- Held by `chatd migrate` and every start while it reads and applies migrations. A session
-- lock: PostgreSQL releases it when the connection ends, however the process ends, unlike
-- yoyo's lock row, which a killed process leaves behind.
SELECT pg_advisory_lock(hashtext('chatd migrations'));
