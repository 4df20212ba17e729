-- name: mark_message_deleted(message_id)!
-- A message as a deletion leaves it: a tombstone without text or reactions.
WITH gone AS (
    DELETE FROM message_reaction WHERE message_id = :message_id
)
UPDATE chatmessage SET deleted_at = now(), text = '' WHERE id = :message_id;

-- name: get_last_event_seq(channel_id)$
SELECT last_event_seq FROM chatchannel WHERE id = :channel_id;

-- name: fill_reactions#
-- The EXPLAIN test's reactions, after fill_history: two emoji on every message, from its
-- author and one other user, in the order they were sent.
INSERT INTO message_reaction (channel_id, message_id, emoji, user_id, created_at)
SELECT m.channel_id, m.id, e.emoji, m.user_id, m.created_at
  FROM chatmessage m CROSS JOIN (VALUES ('👍'), ('❤️')) e(emoji);

ANALYZE message_reaction;
