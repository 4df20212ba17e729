-- Direct messages: conversations are chatchannel rows without a server (type 'DM' for a 1:1,
-- 'GROUP_DM' for a group with an owner), their people dm_recipient rows, a 1:1 also its
-- dm_pair row (migration 0014). dm_json (migration 0016) is a conversation as clients see it.
-- Messages, edits, reactions and the change stream of a conversation are the channel
-- statements' (sql/messages.sql, edits.sql, reactions.sql, changes.sql).

-- name: get_dm_candidates(user_id, user_ids)
-- What opening a conversation with these users depends on: each one that exists (deleted
-- accounts do not), whether they share a server with the caller, and whether either has
-- blocked the other.
SELECT u.user_id, share_a_server(:user_id, u.user_id) AS shares_server,
       blocked_between(:user_id, u.user_id) AS blocked
  FROM users u
 WHERE u.user_id = any(:user_ids::uuid[])
   AND u.deleted_at IS NULL;

-- name: create_dm_pair(low_user_id, high_user_id)$
-- The 1:1 conversation of two users (the lower id first), if they have none: its channel id,
-- or NULL when the pair has one already. The pair's row is claimed first: a concurrent
-- creation for the same pair waits on it and then does nothing, so a pair gets one
-- conversation however many ask at once. (Foreign keys are checked at the end of the
-- statement, when the channel row exists.)
WITH pair AS (
    INSERT INTO dm_pair (low_user_id, high_user_id, channel_id)
    VALUES (:low_user_id, :high_user_id, gen_random_uuid())
    ON CONFLICT DO NOTHING
    RETURNING channel_id
), channel AS (
    INSERT INTO chatchannel (id, server_id, name, type)
    SELECT channel_id, NULL, '', 'DM' FROM pair
    RETURNING id
), people AS (
    INSERT INTO dm_recipient (channel_id, user_id)
    SELECT c.id, p.user_id
      FROM channel c, unnest(ARRAY[:low_user_id::uuid, :high_user_id::uuid]) AS p(user_id)
)
SELECT id FROM channel;

-- name: get_dm_pair(low_user_id, high_user_id)$
SELECT channel_id FROM dm_pair WHERE low_user_id = :low_user_id AND high_user_id = :high_user_id;

-- name: create_group_dm(owner_id, user_ids)$
-- A group conversation owned by its creator, with its people (the creator among them): its id.
WITH channel AS (
    INSERT INTO chatchannel (server_id, name, type, owner_id)
    VALUES (NULL, '', 'GROUP_DM', :owner_id)
    RETURNING id
), people AS (
    INSERT INTO dm_recipient (channel_id, user_id)
    SELECT c.id, p.user_id FROM channel c, unnest(:user_ids::uuid[]) AS p(user_id)
)
SELECT id FROM channel;

-- name: notify_dm_created(notify_channel, channel_id)$
-- dm_created, sent in the transaction that made the conversation (after the statement that
-- inserted it: a statement does not see its own rows through dm_json).
SELECT pg_notify(:notify_channel, json_build_object('kind', 'dm_created', 'dm', dm_json(:channel_id))::text);

-- name: get_dm(channel_id, user_id)$
-- The conversation as its people see it; NULL for anyone else (and for anything that is not a
-- conversation).
SELECT dm_json(r.channel_id)::text
  FROM dm_recipient r
 WHERE r.channel_id = :channel_id
   AND r.user_id = :user_id;

-- name: list_dms_of_user(user_id)
-- The user's conversations, the one with the latest message first (a conversation without
-- messages counts from its creation). The newest message of each is the end of its
-- (channel_id, created_at, id) index.
SELECT dm_json(c.id)::text AS dm
  FROM dm_recipient r
  JOIN chatchannel c ON c.id = r.channel_id
 WHERE r.user_id = :user_id
 ORDER BY COALESCE(last_message_at(c.id), c.created_at) DESC, c.id;

-- name: lock_dm(channel_id)$
-- Changes of a group's people take its channel row's lock first, so the facts read after it
-- (who is in it, how many, who owns it) stay true until the change commits: two adds at once
-- cannot take a group past its size.
SELECT id FROM chatchannel WHERE id = :channel_id AND server_id IS NULL FOR UPDATE;

-- name: get_dm_change_facts(channel_id, user_id, target_id)^
-- What adding or removing `target_id` depends on, read after lock_dm: no row when the caller
-- is not in the conversation (or it is none).
SELECT c.type, c.owner_id,
       (SELECT count(*) FROM dm_recipient x WHERE x.channel_id = c.id) AS people,
       EXISTS (SELECT 1 FROM dm_recipient x WHERE x.channel_id = c.id AND x.user_id = :target_id) AS target_in,
       EXISTS (SELECT 1 FROM users u WHERE u.user_id = :target_id AND u.deleted_at IS NULL) AS target_exists,
       share_a_server(:user_id, :target_id) AS shares_server,
       blocked_between(:user_id, :target_id) AS blocked
  FROM chatchannel c
  JOIN dm_recipient r ON r.channel_id = c.id AND r.user_id = :user_id
 WHERE c.id = :channel_id
   AND c.server_id IS NULL;

-- name: add_dm_recipient(notify_channel, channel_id, user_id)$
-- Adds a person to a group, with its note (dm_recipient_added); NULL when they were in it.
WITH added AS (
    INSERT INTO dm_recipient (channel_id, user_id)
    VALUES (:channel_id, :user_id)
    ON CONFLICT DO NOTHING
    RETURNING channel_id, user_id
)
SELECT pg_notify(:notify_channel, json_build_object(
           'kind', 'dm_recipient_added', 'dm_id', a.channel_id, 'user_id', a.user_id, 'username', u.username)::text)
  FROM added a
  JOIN users u ON u.user_id = a.user_id;

-- name: remove_dm_recipient(notify_channel, channel_id, user_id)$
-- Takes a person out of a group, with its note (dm_recipient_removed, with the owner after
-- it): an owner who leaves hands the group to whoever has been in it longest (NULL when no
-- one is left). NULL when they were not in it.
WITH gone AS (
    DELETE FROM dm_recipient
     WHERE channel_id = :channel_id AND user_id = :user_id
    RETURNING channel_id, user_id
), heir AS (
    SELECT r.user_id
      FROM dm_recipient r
     WHERE r.channel_id = :channel_id AND r.user_id <> :user_id
     ORDER BY r.added_at, r.user_id
     LIMIT 1
), handed AS (
    UPDATE chatchannel c
       SET owner_id = (SELECT user_id FROM heir)
      FROM gone g
     WHERE c.id = g.channel_id AND c.owner_id = g.user_id
    RETURNING c.owner_id
)
SELECT pg_notify(:notify_channel, json_build_object(
           'kind', 'dm_recipient_removed', 'dm_id', g.channel_id, 'user_id', g.user_id,
           'owner_id', CASE WHEN EXISTS (SELECT 1 FROM handed) THEN (SELECT owner_id FROM handed)
                            ELSE (SELECT owner_id FROM chatchannel WHERE id = g.channel_id) END)::text)
  FROM gone g;

-- name: delete_empty_dm(channel_id)!
-- A group everyone left is gone, with its messages.
DELETE FROM chatchannel c
 WHERE c.id = :channel_id AND c.server_id IS NULL
   AND NOT EXISTS (SELECT 1 FROM dm_recipient r WHERE r.channel_id = c.id);

-- Blocks: user_id has blocked blocked_id.

-- name: block_user(user_id, blocked_id)$
-- Whether that user exists (blocking twice changes nothing).
WITH target AS (
    SELECT user_id FROM users WHERE user_id = :blocked_id AND deleted_at IS NULL
), blocked AS (
    INSERT INTO user_block (user_id, blocked_id)
    SELECT :user_id, user_id FROM target
    ON CONFLICT DO NOTHING
)
SELECT EXISTS (SELECT 1 FROM target);

-- name: unblock_user(user_id, blocked_id)$
WITH gone AS (
    DELETE FROM user_block WHERE user_id = :user_id AND blocked_id = :blocked_id RETURNING blocked_id
)
SELECT blocked_id FROM gone;

-- name: list_blocks(user_id)
-- The users the caller has blocked, the latest first (the primary key's range for the user).
SELECT b.blocked_id AS user_id, u.username, b.created_at
  FROM user_block b
  JOIN users u ON u.user_id = b.blocked_id
 WHERE b.user_id = :user_id
 ORDER BY b.created_at DESC, b.blocked_id;
