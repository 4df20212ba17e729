-- name: fill_reactions#
-- The EXPLAIN test's reactions, after fill_history: two emoji on every message, from its
-- author, at the time it was sent.
INSERT INTO message_reaction (channel_id, message_id, emoji, user_id, created_at)
SELECT m.channel_id, m.id, e.emoji, m.user_id, m.created_at
  FROM chatmessage m CROSS JOIN (VALUES ('👍'), ('❤️')) e(emoji);

ANALYZE message_reaction;
