-- Reactions: one row per message, emoji and user (message_reaction, keyed by channel first).
-- The three changes run after lock_channel_for_change (chatd.domain.changes): holding the
-- channel's lock, each sees every change committed before it, and only a statement that
-- changed something records it (record_change: the next event_seq, message_change, NOTIFY);
-- a repeat (reacting twice, removing what is not there) takes nothing and sends nothing.
-- Each answers what it found, for the caller to turn into a status.

-- name: add_reaction(notify_channel, channel_id, message_id, emoji, user_id, max_emoji)$
-- 'added'; 'present' (this user's reaction was there already); 'full' (a new emoji for a
-- message that has max_emoji: checked under the lock, so concurrent adds cannot pass it
-- together); 'missing' (no message of that id in the channel, or it is deleted). The count
-- of distinct emoji is read only when this emoji is new to the message.
WITH target AS (
    SELECT m.id
      FROM chatmessage m
     WHERE m.id = :message_id AND m.channel_id = :channel_id AND m.deleted_at IS NULL
), present AS (
    SELECT 1
      FROM message_reaction r
     WHERE r.channel_id = :channel_id AND r.message_id = :message_id AND r.emoji = :emoji
       AND r.user_id = :user_id
), room AS (
    SELECT t.id
      FROM target t
     WHERE NOT EXISTS (SELECT 1 FROM present)
       AND (EXISTS (SELECT 1 FROM message_reaction r
                     WHERE r.channel_id = :channel_id AND r.message_id = t.id AND r.emoji = :emoji)
            OR (SELECT count(DISTINCT r.emoji) FROM message_reaction r
                 WHERE r.channel_id = :channel_id AND r.message_id = t.id) < :max_emoji)
), added AS (
    INSERT INTO message_reaction (channel_id, message_id, emoji, user_id)
    SELECT :channel_id, id, :emoji, :user_id FROM room
    RETURNING message_id
), recorded AS (
    SELECT record_change(:notify_channel, :channel_id, message_id, jsonb_build_object(
               'kind', 'reaction_added', 'message_id', message_id, 'user_id', :user_id::uuid, 'emoji', :emoji::text))
      FROM added
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'missing'
            WHEN EXISTS (SELECT 1 FROM present) THEN 'present'
            WHEN NOT EXISTS (SELECT 1 FROM room) THEN 'full'
            ELSE 'added' END
  FROM (SELECT count(*) FROM recorded) AS done;

-- name: remove_reaction(notify_channel, channel_id, message_id, emoji, user_id)$
-- One user's reaction: 'removed'; 'absent' (it was not there); 'missing' (no message of that
-- id in the channel, or it is deleted).
WITH target AS (
    SELECT m.id
      FROM chatmessage m
     WHERE m.id = :message_id AND m.channel_id = :channel_id AND m.deleted_at IS NULL
), removed AS (
    DELETE FROM message_reaction r
     USING target t
     WHERE r.channel_id = :channel_id AND r.message_id = t.id AND r.emoji = :emoji AND r.user_id = :user_id
    RETURNING r.message_id
), recorded AS (
    SELECT record_change(:notify_channel, :channel_id, message_id, jsonb_build_object(
               'kind', 'reaction_removed', 'message_id', message_id, 'user_id', :user_id::uuid, 'emoji', :emoji::text))
      FROM removed
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'missing'
            WHEN done.changes > 0 THEN 'removed'
            ELSE 'absent' END
  FROM (SELECT count(*) AS changes FROM recorded) AS done;

-- name: clear_reactions(notify_channel, channel_id, message_id)$
-- Every reaction of a message: 'cleared'; 'absent' (it had none); 'missing' (no message of
-- that id in the channel, or it is deleted).
WITH target AS (
    SELECT m.id
      FROM chatmessage m
     WHERE m.id = :message_id AND m.channel_id = :channel_id AND m.deleted_at IS NULL
), removed AS (
    DELETE FROM message_reaction r
     USING target t
     WHERE r.channel_id = :channel_id AND r.message_id = t.id
    RETURNING r.message_id
), recorded AS (
    SELECT record_change(:notify_channel, :channel_id, message_id, jsonb_build_object(
               'kind', 'reactions_cleared', 'message_id', message_id))
      FROM (SELECT DISTINCT message_id FROM removed) m
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'missing'
            WHEN done.changes > 0 THEN 'cleared'
            ELSE 'absent' END
  FROM (SELECT count(*) AS changes FROM recorded) AS done;

-- name: list_reactors(channel_id, message_id, emoji, after, lim)
-- Who reacted with an emoji, by user id after `after` (keyset paging on the primary key: a
-- range of it at any depth).
SELECT r.user_id, u.username
  FROM message_reaction r
  JOIN users u ON u.user_id = r.user_id
 WHERE r.channel_id = :channel_id AND r.message_id = :message_id AND r.emoji = :emoji
   AND r.user_id > :after
 ORDER BY r.user_id
 LIMIT :lim;
