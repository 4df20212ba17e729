-- name: list_channels(server_id)
-- The spec's listing in layout order: uncategorized channels first, then each category's in
-- the category's order. Threads are channels of another type and not listed here.
SELECT c.id, c.server_id, c.name, c.type, c.position, c.category_id, c.topic, c.created_at
  FROM chatchannel c
  LEFT JOIN channel_category k ON k.id = c.category_id
 WHERE c.server_id = :server_id
   AND c.type IN ('TEXT', 'VOICE')
 ORDER BY k.position NULLS FIRST, c.position, c.id;

-- name: lock_server_channels(server_id)$
-- Held until the new channel commits (chatd.domain.channels), so creations in one server take
-- turns: create_channel, a statement of its own after this one, then sees under READ
-- COMMITTED every channel committed by whoever held the row before. A delete of the server
-- waits too, so the INSERT cannot fail on its foreign key; no row when the server is already
-- gone. NO KEY UPDATE, not lock_server's UPDATE: the KEY SHARE that storing a message takes
-- on the row (its foreign-key check) does not wait for it.
SELECT id
  FROM chatserver
 WHERE id = :server_id
   FOR NO KEY UPDATE;

-- name: create_channel(notify_channel, server_id, name, type, position, category_id)^
-- Run after lock_server_channels, so creations take turns and positions stay dense: without a
-- position the channel goes after the last one of its category (NULL: uncategorized); with
-- one it goes there (at most the end), moving those from there on down by one. The layout's
-- version moves on. Members' sockets hear of it on commit.
WITH place AS (
    SELECT LEAST(COALESCE(:position::integer, count(*)), count(*))::integer AS position
      FROM chatchannel
     WHERE server_id = :server_id
       AND category_id IS NOT DISTINCT FROM :category_id::uuid
       AND type IN ('TEXT', 'VOICE')
), shifted AS (
    UPDATE chatchannel c
       SET position = c.position + 1
      FROM place
     WHERE c.server_id = :server_id
       AND c.category_id IS NOT DISTINCT FROM :category_id::uuid
       AND c.type IN ('TEXT', 'VOICE')
       AND c.position >= place.position
), bumped AS (
    UPDATE chatserver
       SET layout_version = layout_version + 1
     WHERE id = :server_id
), created AS (
    INSERT INTO chatchannel (server_id, name, type, position, category_id)
    SELECT :server_id, :name, :type, place.position, :category_id::uuid
      FROM place
    RETURNING id, server_id, name, type, position, category_id, topic, created_at
)
SELECT id, server_id, name, type, position, category_id, topic, created_at,
       pg_notify(:notify_channel, json_build_object(
           'kind', 'channel_created', 'server_id', server_id, 'id', id, 'name', name,
           'type', type, 'position', position, 'category_id', category_id, 'topic', topic,
           'created_at', created_at)::text) AS notified
  FROM created;

-- name: get_category_of_server(server_id, category_id)$
-- Whether a category named by a new channel is one of the server's (run under
-- lock_server_channels: a category deletion waits for it too).
SELECT id
  FROM channel_category
 WHERE id = :category_id
   AND server_id = :server_id;

-- name: update_channel(notify_channel, server_id, channel_id, name, set_topic, topic)^
-- A rename and/or a new topic (`set_topic`: whether to write `topic`, NULL clearing it).
-- Members hear channel_updated with the whole channel on commit; no row: not a channel of
-- the server.
WITH updated AS (
    UPDATE chatchannel
       SET name = COALESCE(:name::text, name),
           topic = CASE WHEN :set_topic::boolean THEN :topic::text ELSE topic END
     WHERE id = :channel_id
       AND server_id = :server_id
       AND type IN ('TEXT', 'VOICE')
    RETURNING id, server_id, name, type, position, category_id, topic, created_at
)
SELECT id, server_id, name, type, position, category_id, topic, created_at,
       pg_notify(:notify_channel, json_build_object(
           'kind', 'channel_updated', 'server_id', server_id, 'id', id, 'name', name,
           'type', type, 'position', position, 'category_id', category_id, 'topic', topic,
           'created_at', created_at)::text) AS notified
  FROM updated;

-- name: delete_channel(notify_channel, server_id, channel_id)$
-- Run after lock_server_channels. Its messages, reactions, changes, edits, read states and
-- mentions go with it (ON DELETE CASCADE); the nonce claims of its last 5 minutes are deleted
-- here, as delete_server does (a claim has no foreign key). The channels after it in its
-- category close up, the layout's version moves on, and its id is kept in deleted_channel, with
-- the ids of its threads (which go with it), so a resume of any of them hears channel_deleted.
-- Members hear channel_deleted on commit; no row: not a channel of the server.
WITH claims AS (
    DELETE FROM chatmessage_nonce n
     USING chatmessage m
     WHERE m.channel_id = :channel_id
       AND m.server_id = :server_id
       AND m.created_at > now() - interval '5 minutes'
       AND n.user_id = m.user_id AND n.nonce = m.nonce AND n.message_id = m.id
), deleted AS (
    DELETE FROM chatchannel
     WHERE id = :channel_id
       AND server_id = :server_id
       AND type IN ('TEXT', 'VOICE')
    RETURNING id, server_id, category_id, position
), closed AS (
    UPDATE chatchannel c
       SET position = c.position - 1
      FROM deleted d
     WHERE c.server_id = d.server_id
       AND c.category_id IS NOT DISTINCT FROM d.category_id
       AND c.type IN ('TEXT', 'VOICE')
       AND c.position > d.position
), kept AS (
    INSERT INTO deleted_channel (id, server_id)
    SELECT id, server_id FROM deleted
    UNION ALL
    SELECT t.id, t.server_id FROM chatchannel t JOIN deleted d ON t.parent_channel_id = d.id
    ON CONFLICT (id) DO NOTHING  -- a thread deleted by itself meanwhile has its tombstone
), bumped AS (
    UPDATE chatserver s
       SET layout_version = layout_version + 1
      FROM deleted d
     WHERE s.id = d.server_id
)
SELECT id, pg_notify(:notify_channel, json_build_object(
           'kind', 'channel_deleted', 'server_id', server_id, 'channel_id', id)::text) AS notified
  FROM deleted;

-- name: list_deleted_channels(user_id, channel_ids)
-- Which of these channels (or threads) were deleted from a server the user is in: a resume of
-- them hears channel_deleted.
SELECT d.id AS channel_id, d.server_id
  FROM deleted_channel d
  JOIN servermembership m ON m.server_id = d.server_id AND m.user_id = :user_id
 WHERE d.id = any(:channel_ids::uuid[]);

-- name: prune_deleted_channels(retention, lim)$
-- Retention: deletes up to `lim` tombstones older than `retention` (the oldest first), the
-- retention of the changes a resume could ask for; returns how many went. A resume of such a
-- channel then hears that it is not found, as for one that never existed.
WITH doomed AS (
    SELECT id
      FROM deleted_channel
     WHERE deleted_at < now() - :retention::interval
     ORDER BY deleted_at
     LIMIT :lim
       FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM deleted_channel d
     USING doomed x
     WHERE d.id = x.id
    RETURNING d.id
)
SELECT count(*) FROM gone;
