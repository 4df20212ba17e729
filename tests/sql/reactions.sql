-- name: fill_reactions#
-- The EXPLAIN test's reactions, after fill_history: two emoji on every message, from its
-- author, at the time it was sent (their counts by the triggers of migration 0012).
INSERT INTO message_reaction (channel_id, message_id, emoji, user_id, created_at)
SELECT m.channel_id, m.id, e.emoji, m.user_id, m.created_at
  FROM chatmessage m CROSS JOIN (VALUES ('👍'), ('❤️')) e(emoji);

ANALYZE message_reaction;
ANALYZE message_reaction_count;

-- name: reaction_count_drift()
-- Where message_reaction_count disagrees with counting message_reaction: no rows when exact.
SELECT COALESCE(c.message_id, r.message_id) AS message_id, COALESCE(c.emoji, r.emoji) AS emoji,
       c.count AS kept, r.count AS counted
  FROM message_reaction_count c
  FULL JOIN (SELECT channel_id, message_id, emoji, count(*) AS count
               FROM message_reaction
              GROUP BY channel_id, message_id, emoji) r
         ON r.channel_id = c.channel_id AND r.message_id = c.message_id AND r.emoji = c.emoji
 WHERE c.count IS DISTINCT FROM r.count;
