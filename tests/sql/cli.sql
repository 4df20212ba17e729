-- Databases of their own for tests/test_cli.py, made fresh on the session's server. Fixed
-- names: a database name is an identifier and cannot be a query parameter. One statement
-- per query: CREATE DATABASE cannot run inside the implicit transaction of a multi-statement query.

-- name: drop_database_cli_served#
DROP DATABASE IF EXISTS chatd_cli_served WITH (FORCE);

-- name: create_database_cli_served#
CREATE DATABASE chatd_cli_served;

-- name: drop_database_cli_list#
DROP DATABASE IF EXISTS chatd_cli_list WITH (FORCE);

-- name: create_database_cli_list#
CREATE DATABASE chatd_cli_list;

-- name: drop_database_cli_race#
DROP DATABASE IF EXISTS chatd_cli_race WITH (FORCE);

-- name: create_database_cli_race#
CREATE DATABASE chatd_cli_race;

-- name: drop_database_cli_stale_lock#
DROP DATABASE IF EXISTS chatd_cli_stale_lock WITH (FORCE);

-- name: create_database_cli_stale_lock#
CREATE DATABASE chatd_cli_stale_lock;

-- name: list_applied_migrations()
SELECT migration_id FROM _yoyo_migration ORDER BY migration_id;

-- name: list_migration_log()
SELECT migration_id, operation FROM _yoyo_log ORDER BY created_at_utc, migration_id;

-- name: leave_stale_yoyo_lock()!
-- What a process killed in the middle of migrating leaves behind: yoyo's lock row.
INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now(), 999999);

-- name: count_yoyo_locks()$
SELECT count(*) FROM yoyo_lock;

-- name: drop_database_cli_case#
DROP DATABASE IF EXISTS chatd_cli_case WITH (FORCE);

-- name: create_database_cli_case#
CREATE DATABASE chatd_cli_case;

-- name: insert_bare_user(username)!
-- A user as a database from before usernames were unique regardless of case may hold them.
INSERT INTO users (username) VALUES (:username);

-- name: rename_user(old, new)!
UPDATE users SET username = :new WHERE username = :old;

-- name: list_user_indexes()
SELECT indexname FROM pg_indexes WHERE tablename = 'users' ORDER BY indexname;
