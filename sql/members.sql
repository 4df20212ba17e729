-- name: get_member_role(server_id, user_id)$
-- The one membership check every request makes: the unique (server_id, user_id) index.
SELECT role
  FROM servermembership
 WHERE server_id = :server_id
   AND user_id = :user_id;

-- name: get_channel_access(channel_id, server_id, user_id)^
-- Whether the caller reads the channel (channel_reader), and the channel, in one round trip;
-- server_id NULL names a DM. No row when the caller is not a member of the server (not a
-- recipient of the DM); channel_type NULL when the channel is not part of this server (a
-- member's role then comes from servermembership, only so that the answer is "channel not
-- found"). In a 1:1, `strangers` (the other one shares no server with the caller) and
-- `blocked` (either has blocked the other) say why a send is refused; `locked`: a locked thread.
SELECT COALESCE(r.role, m.role) AS role, c.type AS channel_type, COALESCE(c.locked, false) AS locked,
       o.user_id IS NOT NULL AND NOT share_a_server(:user_id, o.user_id) AS strangers,
       o.user_id IS NOT NULL AND blocked_between(:user_id, o.user_id) AS blocked
  FROM (SELECT) AS one
  LEFT JOIN servermembership m ON m.server_id = :server_id AND m.user_id = :user_id
  LEFT JOIN chatchannel c ON c.id = :channel_id AND c.server_id IS NOT DISTINCT FROM :server_id::uuid
  LEFT JOIN channel_reader r ON r.channel_id = c.id AND r.user_id = :user_id
  LEFT JOIN dm_recipient o ON c.type = 'DM' AND r.user_id IS NOT NULL AND o.channel_id = c.id
                          AND o.user_id <> :user_id
 WHERE m.user_id IS NOT NULL OR r.user_id IS NOT NULL;

-- name: list_members(server_id)
SELECT m.user_id, u.username, m.role, m.joined_at
  FROM servermembership m
  JOIN users u ON u.user_id = m.user_id
 WHERE m.server_id = :server_id
 ORDER BY m.joined_at, u.username;

-- name: add_members(notify_channel, server_id, user_ids, roles, invite_code)
-- Item k of the arrays joins with role k; one already a member keeps their role and returns no
-- row (409 for a single add), and so does one banned from the server (403). The only statement
-- that makes members: each new one's member_added note goes out on commit, so every chatd
-- process starts sending them the server's events. No rows either when the server is gone:
-- reading its row FOR KEY SHARE waits for a delete in progress and then skips the deleted row,
-- where the foreign-key check alone would fail the INSERT (and it keeps a delete from starting
-- until this commits).
-- Joining by an invite (`invite_code`; NULL for an add by a MODERATOR or ADMIN) counts its use
-- in this same statement, and only when someone joined: while the invite is open, its row
-- locked, so concurrent accepts take it one after the other, each re-reading `uses` once it has
-- the lock (READ COMMITTED re-checks a locked row's WHERE): exactly max_uses of them get in.
WITH invite AS (
    SELECT i.code
      FROM server_invite i
     WHERE i.code = :invite_code
       AND i.server_id = :server_id
       AND invite_open(i)
       FOR UPDATE
), added AS (
    INSERT INTO servermembership (server_id, user_id, role)
    SELECT s.id, joining.user_id, joining.role
      FROM chatserver s, unnest(:user_ids::uuid[], :roles::text[]) AS joining(user_id, role)
     WHERE s.id = :server_id
       AND (:invite_code::text IS NULL OR EXISTS (SELECT 1 FROM invite))
       AND NOT EXISTS (SELECT 1 FROM server_ban b WHERE b.server_id = s.id AND b.user_id = joining.user_id)
       FOR KEY SHARE OF s
    ON CONFLICT (server_id, user_id) DO NOTHING
    RETURNING server_id, user_id, role, joined_at
), used AS (
    UPDATE server_invite
       SET uses = uses + 1
     WHERE code = (SELECT code FROM invite)
       AND EXISTS (SELECT 1 FROM added)
)
SELECT a.server_id, a.user_id, u.username, a.role, a.joined_at,
       pg_notify(:notify_channel, json_build_object(
           'kind', 'member_added', 'server_id', a.server_id, 'user_id', a.user_id,
           'username', u.username, 'role', a.role)::text) AS notified
  FROM added a
  JOIN users u ON u.user_id = a.user_id;

-- name: share_server(server_id)$
-- Before a join (add_members, in the same transaction): waits for a ban in progress, which
-- holds the server row FOR UPDATE, so that the join's statement, whose snapshot is taken
-- after this, sees the ban. (Waiting inside add_members would not: its snapshot is older.)
-- Joins share the row with each other.
SELECT id
  FROM chatserver
 WHERE id = :server_id
   FOR SHARE;

-- name: lock_server(server_id)$
-- Locks the server row for the rest of the transaction, so two concurrent removals or
-- demotions cannot both see "another ADMIN remains" and leave the server without one.
SELECT id
  FROM chatserver
 WHERE id = :server_id
   FOR UPDATE;

-- name: count_server_admins(server_id)$
-- A statement of its own after lock_server: under READ COMMITTED it then sees every change
-- committed by whoever held the lock before. (A count inside the locking statement would use
-- that statement's snapshot, taken before it waited, and miss them.)
SELECT count(*)
  FROM servermembership
 WHERE server_id = :server_id
   AND role = 'ADMIN';

-- name: remove_member(notify_channel, server_id, user_id)$
-- The member_removed note stops every chatd process sending them this server's events.
WITH removed AS (
    DELETE FROM servermembership
     WHERE server_id = :server_id
       AND user_id = :user_id
    RETURNING server_id, user_id
)
SELECT pg_notify(:notify_channel, json_build_object(
           'kind', 'member_removed', 'server_id', server_id, 'user_id', user_id)::text)
  FROM removed;

-- name: set_member_role(role, server_id, user_id)^
WITH changed AS (
    UPDATE servermembership
       SET role = :role
     WHERE server_id = :server_id
       AND user_id = :user_id
    RETURNING user_id, role, joined_at
)
SELECT c.user_id, u.username, c.role, c.joined_at
  FROM changed c
  JOIN users u ON u.user_id = c.user_id;

-- name: lock_servers_of_member(user_id)
-- Deleting an account: the servers it is a member of, each row locked for the rest of the
-- transaction (in id order, so concurrent deletions cannot deadlock), as lock_server does
-- for one: no ADMIN can leave or be demoted meanwhile.
SELECT s.id
  FROM chatserver s
 WHERE s.id IN (SELECT server_id FROM servermembership WHERE user_id = :user_id)
 ORDER BY s.id
   FOR UPDATE;

-- name: list_servers_only_admin(user_id)
-- The servers the user is the last ADMIN of (after lock_servers_of_member, as count_server_admins
-- after lock_server): an account cannot be deleted while it would leave them without one.
SELECT s.id, s.name
  FROM servermembership m
  JOIN chatserver s ON s.id = m.server_id
 WHERE m.user_id = :user_id
   AND m.role = 'ADMIN'
   AND NOT EXISTS (SELECT 1 FROM servermembership o
                    WHERE o.server_id = m.server_id AND o.role = 'ADMIN' AND o.user_id <> m.user_id)
 ORDER BY s.name, s.id;
