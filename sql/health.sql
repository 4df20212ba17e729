-- name: ping()$
SELECT 1;

-- name: database_now()$
-- The database's clock: catch-up windows are measured in the time created_at is written in.
SELECT clock_timestamp();
