-- name: create_invite(notify_channel, code, server_id, created_by, max_age_seconds, max_uses)^
-- The invite, and its invite_created note for the server's ADMINs and MODERATORs. No row when
-- the code is taken (the caller draws another) or the server is gone (read FOR KEY SHARE, as
-- add_members does, rather than failing the foreign key). max_age_seconds 0: never expires.
WITH created AS (
    INSERT INTO server_invite (code, server_id, created_by, expires_at, max_uses)
    SELECT :code, s.id, :created_by,
           CASE WHEN :max_age_seconds::integer = 0 THEN NULL
                ELSE now() + make_interval(secs => :max_age_seconds::integer) END,
           :max_uses
      FROM chatserver s
     WHERE s.id = :server_id
       FOR KEY SHARE OF s
    ON CONFLICT (code) DO NOTHING
    RETURNING code, server_id, created_by, created_at, expires_at, max_uses, uses
)
SELECT code, server_id, created_by, created_at, expires_at, max_uses, uses,
       pg_notify(:notify_channel, json_build_object(
           'kind', 'invite_created', 'server_id', server_id, 'code', code, 'created_by', created_by,
           'created_at', created_at, 'expires_at', expires_at, 'max_uses', max_uses, 'uses', uses)::text) AS notified
  FROM created;

-- name: list_invites(server_id)
-- The server's invites that still let people in, newest first.
SELECT i.code, i.server_id, i.created_by, i.created_at, i.expires_at, i.max_uses, i.uses
  FROM server_invite i
 WHERE i.server_id = :server_id
   AND invite_open(i)
 ORDER BY i.created_at DESC, i.code;

-- name: revoke_invite(notify_channel, server_id, code)$
-- The row stays (revoked_at), so the code is never drawn again; the invite_deleted note tells
-- the server's ADMINs and MODERATORs. No row for a code that is not this server's or was
-- revoked already.
WITH revoked AS (
    UPDATE server_invite
       SET revoked_at = now()
     WHERE code = :code
       AND server_id = :server_id
       AND revoked_at IS NULL
    RETURNING server_id, code
)
SELECT code, pg_notify(:notify_channel, json_build_object(
           'kind', 'invite_deleted', 'server_id', server_id, 'code', code)::text) AS notified
  FROM revoked;

-- name: get_invite_preview(code)^
-- What anyone holding the code may see of the server, while the invite lets people in: no row
-- alike for an unknown, expired, used-up or revoked code.
SELECT i.code, s.id AS server_id, s.name, s.icon, i.expires_at,
       (SELECT count(*) FROM servermembership m WHERE m.server_id = s.id) AS member_count
  FROM server_invite i
  JOIN chatserver s ON s.id = i.server_id
 WHERE i.code = :code
   AND invite_open(i);

-- name: get_invite_access(code, user_id)^
-- What the rule about accepting an invite needs, in one round trip: its server, whether it
-- still lets people in, whether the caller is a member already or banned.
SELECT i.server_id, invite_open(i) AS open,
       EXISTS (SELECT 1 FROM servermembership m WHERE m.server_id = i.server_id AND m.user_id = :user_id) AS member,
       EXISTS (SELECT 1 FROM server_ban b WHERE b.server_id = i.server_id AND b.user_id = :user_id) AS banned
  FROM server_invite i
 WHERE i.code = :code;

-- name: list_server_staff(server_id)
-- Who hears of a server's invites: its ADMINs and MODERATORs.
SELECT user_id
  FROM servermembership
 WHERE server_id = :server_id
   AND role IN ('ADMIN', 'MODERATOR');
