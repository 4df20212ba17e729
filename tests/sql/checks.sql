-- name: count_server_rows(server_id)^
-- What is left of a server in every table that refers to it (all zero after DELETE).
SELECT (SELECT count(*) FROM chatserver WHERE id = :server_id) AS servers,
       (SELECT count(*) FROM chatchannel WHERE server_id = :server_id) AS channels,
       (SELECT count(*) FROM chatmessage WHERE server_id = :server_id) AS messages,
       (SELECT count(*) FROM servermembership WHERE server_id = :server_id) AS memberships;

-- name: count_rows()^
-- Rows in each table, to show what a delete left alone.
SELECT (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM chatserver) AS servers,
       (SELECT count(*) FROM chatchannel) AS channels,
       (SELECT count(*) FROM chatmessage) AS messages,
       (SELECT count(*) FROM servermembership) AS memberships;

-- name: insert_messages(channel_id, user_id, n, newest)!
-- A history of n messages, "message 1" .. "message n", one second apart, the last at :newest:
-- one set-based statement instead of n requests. The channel's seq counter advances as
-- insert_message would advance it, so later posts continue the sequence.
WITH channel AS (
    UPDATE chatchannel
       SET last_seq = last_seq + :n, last_event_seq = last_event_seq + :n
     WHERE id = :channel_id
    RETURNING id, server_id, last_seq - :n AS seq_before, last_event_seq - :n AS event_seq_before
)
INSERT INTO chatmessage (server_id, channel_id, user_id, text, created_at, seq, event_seq)
SELECT c.server_id, c.id, :user_id, 'message ' || i,
       :newest::timestamptz - (:n - i) * interval '1 second', c.seq_before + i, c.event_seq_before + i
  FROM channel c, generate_series(1, :n) i;

-- name: fill_history#
-- The EXPLAIN test's data, set-based: 3,000 users in 20 servers (each user in two of them:
-- 6,000 memberships), one TEXT channel per server, and 100,000 messages spread over the
-- channels, one second apart; one in ten says "tenth" (a common search term; each number is a
-- rare one), and each one word of a vocabulary of 2,000 (the long tail of words real text
-- has, by which the planner knows what a rare word is); their presence, a third of them
-- online. Statistics are refreshed so plans see the real sizes.
INSERT INTO users (username)
SELECT 'bulk' || i FROM generate_series(1, 3000) i;

INSERT INTO chatserver (name, creator_id)
SELECT 'bulk server ' || i, (SELECT user_id FROM users WHERE username = 'bulk1')
  FROM generate_series(1, 20) i;

INSERT INTO chatchannel (server_id, name, type, position)
SELECT id, 'general', 'TEXT', 0 FROM chatserver;

ANALYZE users, chatserver, chatchannel;

WITH numbered_users AS (
    SELECT user_id, row_number() OVER (ORDER BY username) AS k FROM users WHERE username LIKE 'bulk%'
), numbered_servers AS (
    SELECT id, row_number() OVER (ORDER BY name) - 1 AS k FROM chatserver WHERE name LIKE 'bulk server %'
)
INSERT INTO servermembership (server_id, user_id, role)
SELECT s.id, u.user_id, CASE WHEN u.k = 1 THEN 'ADMIN' ELSE 'MEMBER' END
  FROM numbered_users u
  JOIN numbered_servers s ON s.k IN (u.k % 20, (u.k + 1) % 20);

WITH channels AS (
    SELECT c.id, c.server_id, row_number() OVER (ORDER BY c.id) - 1 AS k
      FROM chatchannel c JOIN chatserver s ON s.id = c.server_id
     WHERE s.name LIKE 'bulk server %'
), authors AS (
    SELECT array_agg(user_id ORDER BY username) AS ids FROM users WHERE username LIKE 'bulk%'
)
INSERT INTO chatmessage (server_id, channel_id, user_id, text, created_at, seq, event_seq)
SELECT c.server_id, c.id, a.ids[1 + i % 3000],
       'bulk message ' || i || ' word' || (i * 7 % 2000) || CASE WHEN i % 10 = 0 THEN ' tenth' ELSE '' END,
       now() - (100000 - i) * interval '1 second', i / 20 + 1, i / 20 + 1
  FROM generate_series(0, 99999) i
  JOIN channels c ON c.k = i % 20
 CROSS JOIN authors a;

-- Everyone has been seen; a third of them are connected (on one process), shown online.
INSERT INTO user_presence (user_id, shown)
SELECT user_id, CASE WHEN hashtext(username) % 3 = 0 THEN 'online' ELSE 'offline' END
  FROM users WHERE username LIKE 'bulk%';

INSERT INTO chatd_node_user (node_id, user_id)
SELECT '00000000-0000-0000-0000-000000000001', user_id FROM user_presence WHERE shown = 'online';

-- The joins below plan from what was just loaded, not from the statistics an earlier test left.
ANALYZE chatmessage, servermembership;

-- One message in ten mentions a member of its server (each user is mentioned in ~3 messages of
-- each of their two channels); one in 500 says @everyone.
INSERT INTO message_mention (channel_id, seq, user_id, kind, created_at)
SELECT DISTINCT ON (m.channel_id, m.seq) m.channel_id, m.seq, s.user_id, 'user', m.created_at
  FROM chatmessage m
  JOIN servermembership s ON s.server_id = m.server_id
 WHERE m.seq % 10 = 0 AND hashtext(s.user_id::text || m.seq) % 7 = 0
 ORDER BY m.channel_id, m.seq, s.user_id;
UPDATE chatmessage SET mention_everyone = true WHERE seq % 500 = 0;

ANALYZE users, chatserver, chatchannel, chatmessage, servermembership, user_presence, chatd_node_user,
        message_mention;

-- name: get_history_sample()^
-- Real parameter values for the EXPLAINed queries: a member of a bulk server, one of its
-- channels, and a message from the middle of that channel's history.
SELECT m.user_id, m.server_id, c.id AS channel_id,
       (SELECT id FROM chatmessage
         WHERE channel_id = c.id
         ORDER BY created_at, id
         OFFSET 2500 LIMIT 1) AS message_id
  FROM servermembership m
  JOIN chatserver s ON s.id = m.server_id
  JOIN chatchannel c ON c.server_id = s.id
  JOIN users u ON u.user_id = m.user_id
 WHERE u.username = 'bulk1500'
 ORDER BY s.name
 LIMIT 1;

-- name: lock_users()!
-- Held in a transaction, this makes every request that authenticates wait on the users table.
LOCK TABLE users IN ACCESS EXCLUSIVE MODE;

-- name: hold_server_row(server_id)$
-- Held in a transaction, this makes membership changes of the server queue up behind it.
SELECT id FROM chatserver WHERE id = :server_id FOR UPDATE;

-- name: count_lock_waiters()$
-- Backends waiting for a lock: how a test knows its requests are queued. pg_locks, unlike
-- pg_stat_activity, is not frozen for the rest of the caller's transaction.
SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted;

-- name: count_admins(server_id)$
SELECT count(*) FROM servermembership WHERE server_id = :server_id AND role = 'ADMIN';

-- name: terminate_lock_waiters(ended)
-- Ends the backends waiting for a lock, as a database shutting down ends its backends: their
-- clients lose the connection in the middle of a query. Those in :ended were ended before and
-- may still be on their way out. Returns the pids ended now.
SELECT pid
  FROM (SELECT DISTINCT pid FROM pg_locks WHERE NOT granted AND pid <> all(:ended::int[])) waiting
 WHERE pg_terminate_backend(pid);

-- name: terminate_sessions_of(application_name)
-- Ends the sessions of one client application, idle or not, as PostgreSQL shutting down does
-- (them only: the CTE picks them before any is ended). Returns the pids ended.
WITH session AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = :application_name)
SELECT pid FROM session WHERE pg_terminate_backend(pid);

-- name: count_messages_by_text()
-- How many times each text is stored: a resend must never store a message twice.
SELECT text, count(*) AS n FROM chatmessage GROUP BY text;

-- name: list_login_failure_keys()
-- The keys failed logins were counted under, the most frequent first.
SELECT key, count(*) AS failures FROM login_failure GROUP BY key ORDER BY count(*) DESC, key;

-- name: age_login_failures(seconds)!
-- Every failed login recorded so far, as if it happened `seconds` earlier.
UPDATE login_failure SET failed_at = failed_at - make_interval(secs => :seconds);

-- name: lock_login_failures()!
-- Held in a transaction, this makes every login that counts or checks failures wait.
LOCK TABLE login_failure IN ACCESS EXCLUSIVE MODE;

-- name: count_dm_channels()$
SELECT count(*) FROM chatchannel WHERE server_id IS NULL;

-- name: probe_search(q)$
-- Search's probe alone (migration 0033): how many matches of `q` it finds.
SELECT count(*) FROM search_probe(websearch_to_tsquery('simple', :q), 1000);

-- name: flush_stats()$
-- This session's statistics are sent when it is next idle: after this statement.
SELECT pg_stat_force_next_flush();

-- name: list_seq_scans_in_transaction(tables)
-- The tables of `tables` this transaction has read with a sequential scan so far, statements
-- run inside functions included (which EXPLAIN does not show).
SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE relname = any(:tables) AND seq_scan > 0;

-- name: set_message_author(message_id, user_id)!
-- (The sample's authors are never members of the servers they wrote in.)
UPDATE chatmessage SET user_id = :user_id WHERE id = :message_id;

-- name: count_message_reads()^
-- How often chatmessage was read whole and its GIN index scanned, as sent so far (flush_stats).
SELECT (SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'chatmessage') AS seq_scans,
       (SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'ix_chatmessage_search_vector') AS gin_scans;
