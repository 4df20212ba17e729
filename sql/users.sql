-- name: create_user(username, password_hash, email)^
-- A taken username, in any case, returns no row (the handler answers 409), not a
-- unique-violation error. No conflict target: "Alice" hits uq_users_lower_username, "alice"
-- also users_username_key, and two racing sign-ups could meet at either.
INSERT INTO users (username, password_hash, email)
VALUES (:username, :password_hash, :email)
ON CONFLICT DO NOTHING
RETURNING user_id, username;

-- name: get_user_by_username(username)^
-- Any case finds the account (uq_users_lower_username serves the lookup); the row carries the
-- spelling it was registered with, which is what responses, tokens and events show.
SELECT user_id, username, password_hash
  FROM users
 WHERE lower(username) = lower(:username);

-- name: get_user_by_id(user_id)^
-- A user named by id (adding a member); a deleted account is no one.
SELECT user_id, username
  FROM users
 WHERE user_id = :user_id
   AND deleted_at IS NULL;

-- name: get_token_users(user_ids, jtis)
-- Authenticated requests resolve their tokens here, those that arrive together in one round
-- trip of primary-key lookups (item k of the arrays is request `ord` k): the user (no row
-- once the account is deleted), the moment before which their tokens are refused, and
-- whether this token was revoked by itself (chatd.domain.tokens applies the rule). `jti` is
-- NULL for the original deployment's tokens.
SELECT b.ord, u.user_id, u.username, u.tokens_valid_after,
       EXISTS (SELECT 1 FROM revoked_token r WHERE r.jti = b.jti) AS jti_revoked
  FROM unnest(:user_ids::uuid[], :jtis::uuid[]) WITH ORDINALITY AS b(user_id, jti, ord)
  JOIN users u ON u.user_id = b.user_id
 WHERE u.deleted_at IS NULL;

-- name: get_password_hash(user_id)$
-- Changing the password or deleting the account asks for the password again.
SELECT password_hash
  FROM users
 WHERE user_id = :user_id
   AND deleted_at IS NULL;

-- name: set_password_hash(user_id, password_hash)!
UPDATE users
   SET password_hash = :password_hash
 WHERE user_id = :user_id;

-- name: revoke_tokens(notify_channel, user_id, jti, expires_at, valid_after)$
-- The only statement that revokes tokens: the one named by `jti` (until it would have
-- expired), and with `valid_after` every token of the user issued before it. Either way the
-- user's tokens without an id (the original deployment's) end: tokens_valid_after becomes at
-- least the epoch. Revocations past their expiry are deleted on the way. The tokens_revoked
-- note has every chatd process close the sockets opened with a revoked token (4401).
WITH revoked AS (
    INSERT INTO revoked_token (jti, user_id, expires_at)
    SELECT :jti::uuid, :user_id, :expires_at::timestamptz
     WHERE :jti::uuid IS NOT NULL
    ON CONFLICT (jti) DO NOTHING
), expired AS (
    DELETE FROM revoked_token
     WHERE expires_at < now()
), cut AS (
    UPDATE users
       SET tokens_valid_after = greatest(tokens_valid_after, :valid_after::timestamptz, 'epoch')
     WHERE user_id = :user_id
    RETURNING user_id, tokens_valid_after
)
SELECT pg_notify(:notify_channel, json_build_object(
           'kind', 'tokens_revoked', 'user_id', user_id, 'jti', :jti::uuid,
           'valid_after', tokens_valid_after)::text)
  FROM cut;

-- name: get_users_with_servers(user_ids, jtis)
-- WebSocket connects that arrive together, in one round trip: each token's user (absent when
-- they no longer exist or deleted their account) with each server they are a member of, one
-- row each (server columns NULL, one row, when they are in none), what revokes tokens: the
-- user's tokens_valid_after and which of the tokens' ids were revoked (NULL: none), their
-- conversations (`dms`, a JSON array of dm_json, as GET /chat/dms orders them; NULL: none), and
-- the channels with something unread (`unreads`, the JSON array `connected` carries; NULL: none),
-- read once per user.
-- With presence: the status the user set (`own_status`) and, on the user's first row only, the
-- co-members and conversation peers others see online, idle or dnd (`presences`, JSON
-- {user id: status}, at most 1,000; NULL: none). Each server's shown members are read once
-- per batch, however many of its members connect in it.
-- With notifications: the user's settings (`notification_settings`, JSON {id: {level,
-- muted_until}}; NULL: none), which the gateway caches while they are connected.
WITH revoked AS (
    SELECT user_id, array_agg(jti) AS jtis
      FROM revoked_token
     WHERE jti = any(:jtis::uuid[])
     GROUP BY user_id
), their_servers AS (
    SELECT DISTINCT server_id FROM servermembership WHERE user_id = any(:user_ids::uuid[])
), shown AS MATERIALIZED (
    SELECT t.server_id, o.user_id, o.shown
      FROM their_servers t
     CROSS JOIN LATERAL (
        SELECT m.user_id, p.shown
          FROM servermembership m
          JOIN user_presence p ON p.user_id = m.user_id
         WHERE m.server_id = t.server_id
           AND p.shown <> 'offline'
         LIMIT 1001) AS o
), presences AS MATERIALIZED (
    SELECT me.user_id, json_object_agg(x.user_id, x.shown)::text AS presences
      FROM (SELECT DISTINCT unnest(:user_ids::uuid[]) AS user_id) AS me
     CROSS JOIN LATERAL (
        SELECT s.user_id, s.shown  -- UNION: once each, however many servers are shared
          FROM servermembership m
          JOIN shown s ON s.server_id = m.server_id
         WHERE m.user_id = me.user_id
           AND s.user_id <> me.user_id
        UNION
        SELECT o.user_id, p.shown
          FROM dm_recipient r
          JOIN dm_recipient o ON o.channel_id = r.channel_id AND o.user_id <> r.user_id
          JOIN user_presence p ON p.user_id = o.user_id
         WHERE r.user_id = me.user_id
           AND p.shown <> 'offline'
         LIMIT 1000) AS x
     GROUP BY me.user_id
), dms AS MATERIALIZED (
    SELECT r.user_id,
           json_agg(dm_json(c.id) ORDER BY COALESCE(last_message_at(c.id), c.created_at) DESC, c.id)::text AS dms
      FROM dm_recipient r
      JOIN chatchannel c ON c.id = r.channel_id
     WHERE r.user_id = any(:user_ids::uuid[])
     GROUP BY r.user_id
), unread AS MATERIALIZED (
    SELECT me.user_id,
           json_agg(json_build_object('serverId', u.server_id, 'channelId', u.channel_id,
                                      'lastReadSeq', u.last_read_seq, 'unreadCount', u.unread_count,
                                      'mentionCount', u.mention_count)
                    ORDER BY u.server_id, u.position, u.channel_id)::text AS unreads
      FROM (SELECT DISTINCT unnest(:user_ids::uuid[]) AS user_id) AS me
     CROSS JOIN LATERAL channel_unread(me.user_id) u
     WHERE u.unread_count > 0 OR u.mention_count > 0
     GROUP BY me.user_id
), notifying AS MATERIALIZED (
    SELECT user_id, json_object_agg(target_id, json_build_object('level', level, 'muted_until', muted_until))::text
               AS notification_settings
      FROM notification_setting
     WHERE user_id = any(:user_ids::uuid[])
     GROUP BY user_id
)
SELECT u.user_id, u.username, u.tokens_valid_after, r.jtis AS revoked_jtis, d.dms, n.unreads, ns.notification_settings,
       coalesce(op.status, 'online') AS own_status,
       CASE WHEN row_number() OVER (PARTITION BY u.user_id ORDER BY s.created_at, s.id) = 1
            THEN pr.presences END AS presences,
       s.id, s.name, s.icon, s.creator_id, s.created_at, m.role
  FROM users u
  LEFT JOIN revoked r ON r.user_id = u.user_id
  LEFT JOIN dms d ON d.user_id = u.user_id
  LEFT JOIN unread n ON n.user_id = u.user_id
  LEFT JOIN user_presence op ON op.user_id = u.user_id
  LEFT JOIN presences pr ON pr.user_id = u.user_id
  LEFT JOIN notifying ns ON ns.user_id = u.user_id
  LEFT JOIN servermembership m ON m.user_id = u.user_id
  LEFT JOIN chatserver s ON s.id = m.server_id
 WHERE u.user_id = any(:user_ids::uuid[])
   AND u.deleted_at IS NULL
 ORDER BY u.user_id, s.created_at, s.id;

-- name: anonymise_user(user_id)$
-- Deleting an account keeps its row, which its messages and the servers it created refer to,
-- under a name that the username rules cannot produce (no one registers it, no one logs in
-- without a password hash): its history reads "Deleted User <id>" and its own name is free.
UPDATE users
   SET username = 'Deleted User ' || user_id::text, password_hash = NULL, email = NULL, deleted_at = now()
 WHERE user_id = :user_id
   AND deleted_at IS NULL
RETURNING user_id;
