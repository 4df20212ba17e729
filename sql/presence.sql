-- name: lock_presences(user_ids)!
-- The first statement of every presence change: each user's row, created if missing, locked in
-- id order until commit (an upsert that changes nothing takes the lock). Every writer of a
-- user's chatd_node_user rows and status holds it, so change_presences, the next statement,
-- reads a state nobody else changes under it. A user who no longer exists gets no row (and
-- change_presences then leaves them out) rather than failing the batch.
INSERT INTO user_presence AS p (user_id)
SELECT u.user_id FROM users u WHERE u.user_id = any(:user_ids::uuid[]) ORDER BY u.user_id
ON CONFLICT (user_id) DO UPDATE SET status = p.status;

-- name: change_presences(notify_channel, node_id, up_ids, gone_node_ids, gone_user_ids, status_user_ids, statuses, dead_seconds)$
-- Every presence change of a batch in one statement, with the users' rows locked
-- (lock_presences): users whose first socket opened on this node (`up_ids`), rows that go
-- (`gone_*`: this node's users whose last socket closed over 10 s ago, and rows of processes
-- that died or stopped, deleted only while still so), and statuses set. Each user whose shown
-- status changed gets one presence note (`own_status`: the status they set, when that is what
-- changed, for their own sockets), with the rooms it goes to when they fit in a NOTIFY:
-- the servers the user is in and the users they share a conversation with (NULL: too many,
-- the listener reads them). Answers how many notes it sent.
WITH involved AS (
    SELECT p.user_id, p.shown AS shown_before,
           (SELECT count(*) FROM chatd_node_user n WHERE n.user_id = p.user_id) AS nodes_before
      FROM user_presence p
     WHERE p.user_id = any(:up_ids::uuid[] || :gone_user_ids::uuid[] || :status_user_ids::uuid[])
), added AS (
    INSERT INTO chatd_node_user (node_id, user_id)
    SELECT :node_id, i.user_id FROM involved i WHERE i.user_id = any(:up_ids::uuid[])
    ON CONFLICT (node_id, user_id) DO NOTHING
    RETURNING user_id
), removed AS (
    DELETE FROM chatd_node_user n
     USING unnest(:gone_node_ids::uuid[], :gone_user_ids::uuid[]) AS g(node_id, user_id)
     WHERE n.node_id = g.node_id
       AND n.user_id = g.user_id
       AND (n.node_id = :node_id
            OR n.expires_at < now()
            OR (n.expires_at IS NULL AND NOT EXISTS (
                    SELECT FROM chatd_node c
                     WHERE c.node_id = n.node_id
                       AND c.updated_at >= now() - make_interval(secs => :dead_seconds))))
    RETURNING n.user_id
), after AS (
    SELECT c.user_id, c.shown_before, c.status, c.status_before,
           CASE WHEN c.connected AND c.status <> 'invisible' THEN c.status ELSE 'offline' END AS shown
      FROM (SELECT i.user_id, i.shown_before, coalesce(s.status, p.status) AS status, p.status AS status_before,
                   i.nodes_before + coalesce(a.n, 0) - coalesce(r.n, 0) > 0 AS connected
              FROM involved i
              JOIN user_presence p ON p.user_id = i.user_id
              LEFT JOIN (SELECT user_id, count(*) AS n FROM added GROUP BY user_id) AS a ON a.user_id = i.user_id
              LEFT JOIN (SELECT user_id, count(*) AS n FROM removed GROUP BY user_id) AS r ON r.user_id = i.user_id
              LEFT JOIN unnest(:status_user_ids::uuid[], :statuses::text[]) AS s(user_id, status)
                     ON s.user_id = i.user_id) AS c
), saved AS (
    UPDATE user_presence p
       SET status = a.status, shown = a.shown, updated_at = now()
      FROM after a
     WHERE p.user_id = a.user_id
       AND (p.status, p.shown) IS DISTINCT FROM (a.status, a.shown)
    RETURNING p.user_id, p.status, p.shown, a.shown_before, a.status_before
)
SELECT count(pg_notify(:notify_channel, json_build_object(
           'kind', 'presence', 'user_id', s.user_id, 'status', s.shown,
           'own_status', CASE WHEN s.status <> s.status_before THEN s.status END,
           'servers', (SELECT CASE WHEN count(*) <= 100 THEN coalesce(array_agg(m.server_id), '{}') END
                         FROM servermembership m WHERE m.user_id = s.user_id),
           'peers', (SELECT CASE WHEN count(*) <= 60 THEN coalesce(array_agg(peer), '{}') END
                       FROM (SELECT DISTINCT o.user_id AS peer
                               FROM dm_recipient r
                               JOIN dm_recipient o ON o.channel_id = r.channel_id AND o.user_id <> r.user_id
                              WHERE r.user_id = s.user_id) AS peers)
       )::text))
  FROM saved s
 WHERE s.shown <> s.shown_before;

-- name: list_gone_node_users(dead_seconds)
-- Rows of processes that are gone: stopped cleanly over the grace ago (`expires_at` passed),
-- or not refreshed for dead_seconds (died, or cut off from the database that long), their
-- chatd_node row stale or swept already.
SELECT n.node_id, n.user_id
  FROM chatd_node_user n
 WHERE n.expires_at < now()
    OR (n.expires_at IS NULL AND NOT EXISTS (
            SELECT FROM chatd_node c
             WHERE c.node_id = n.node_id
               AND c.updated_at >= now() - make_interval(secs => :dead_seconds)))
 ORDER BY n.user_id
 LIMIT 5000;

-- name: expire_node_users(node_id, grace_seconds)!
-- A clean stop: the process's users stay connected for the grace, time to reconnect to another
-- process without going offline and back.
UPDATE chatd_node_user
   SET expires_at = now() + make_interval(secs => :grace_seconds)
 WHERE node_id = :node_id;

-- name: get_presence_rooms(user_id)^
-- Where a user's presence goes when its note could not carry it (too many servers or peers).
SELECT ARRAY(SELECT m.server_id FROM servermembership m WHERE m.user_id = :user_id) AS servers,
       ARRAY(SELECT DISTINCT o.user_id
               FROM dm_recipient r
               JOIN dm_recipient o ON o.channel_id = r.channel_id AND o.user_id <> r.user_id
              WHERE r.user_id = :user_id) AS peers;

-- name: list_presences(server_id, status, after, lim)
-- A page of a server's members as others see them, by user id after `after` (keyset: the
-- unique (server_id, user_id) index, in order): status NULL lists everyone not offline; a
-- status, those shown with it ('offline' includes the invisible and those never seen).
SELECT m.user_id, u.username, coalesce(p.shown, 'offline') AS status
  FROM servermembership m
  JOIN users u ON u.user_id = m.user_id
  LEFT JOIN user_presence p ON p.user_id = m.user_id
 WHERE m.server_id = :server_id
   AND m.user_id > coalesce(:after::uuid, '00000000-0000-0000-0000-000000000000')
   AND CASE WHEN :status::text IS NULL THEN coalesce(p.shown, 'offline') <> 'offline'
            ELSE coalesce(p.shown, 'offline') = :status::text END
 ORDER BY m.user_id
 LIMIT :lim;
