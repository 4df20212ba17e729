-- name: database_now()$
-- The database's clock: catch-up windows are measured in the time created_at is written in.
SELECT clock_timestamp();

-- name: list_applied_migration_ids()
-- yoyo's record of what is applied: /readyz compares it with the migration files shipped.
SELECT migration_id FROM _yoyo_migration;
