-- Reactions: one row per message, emoji and user (message_reaction, keyed by channel first),
-- and their counts per message and emoji (message_reaction_count, kept by triggers: migration
-- 0012).
-- The changes that arrived together are made by one statement of a kind (chatd.domain.changes),
-- item k of the arrays being change `ord` k, after lock_channels_for_changes: holding the
-- channels' locks, each statement sees every change committed before it, and only the items
-- that changed something are recorded (record_changes: the next event_seq, message_change,
-- NOTIFY); a repeat (reacting twice, removing what is not there) takes nothing and sends
-- nothing. Each answers, per `ord`, what it found, for the caller to turn into a status.

-- name: react(notify_channel, ords, channel_ids, message_ids, emojis, user_ids, adds, max_emoji)
-- Reactions added (`adds` true) and removed, at most one item per (message, emoji, user):
--   'added', 'present' (this user's reaction was there already), 'full' (an emoji new to a
--   message that would take it past max_emoji different ones; of several new ones asked for
--   together, those asked for first get the room left), 'removed', 'absent' (it was not
--   there), 'missing' (no message of that id in the channel, or it is deleted).
-- Adds are judged before the removals of the same statement take room away.
WITH batch AS (
    SELECT b.*, m.id IS NOT NULL AS found
      FROM unnest(:ords::bigint[], :channel_ids::uuid[], :message_ids::uuid[], :emojis::text[], :user_ids::uuid[],
                  :adds::boolean[]) AS b(ord, channel_id, message_id, emoji, user_id, add)
      LEFT JOIN chatmessage m ON m.id = b.message_id AND m.channel_id = b.channel_id AND m.deleted_at IS NULL
), judged AS (
    SELECT b.ord, b.channel_id, b.message_id, b.emoji, b.user_id, b.add,
           EXISTS (SELECT 1 FROM message_reaction r
                    WHERE r.channel_id = b.channel_id AND r.message_id = b.message_id AND r.emoji = b.emoji
                      AND r.user_id = b.user_id) AS present,
           EXISTS (SELECT 1 FROM message_reaction_count c
                    WHERE c.channel_id = b.channel_id AND c.message_id = b.message_id AND c.emoji = b.emoji) AS used
      FROM batch b
     WHERE b.found
), new_emoji AS (
    -- The emoji asked for that their message does not have yet, in the order first asked for;
    -- how many it has is counted only for these.
    SELECT n.channel_id, n.message_id, n.emoji,
           row_number() OVER (PARTITION BY n.channel_id, n.message_id ORDER BY n.first) AS rank
      FROM (SELECT channel_id, message_id, emoji, min(ord) AS first
              FROM judged
             WHERE add AND NOT used
             GROUP BY channel_id, message_id, emoji) n
), room AS (
    SELECT e.message_id, e.emoji
      FROM new_emoji e
     WHERE e.rank <= :max_emoji - (SELECT count(*) FROM message_reaction_count c
                                    WHERE c.channel_id = e.channel_id AND c.message_id = e.message_id)
), outcomes AS (
    SELECT j.ord, j.channel_id, j.message_id, j.emoji, j.user_id, j.add, CASE
               WHEN j.add AND j.present THEN 'present'
               WHEN j.add AND (j.used OR (j.message_id, j.emoji) IN (SELECT message_id, emoji FROM room)) THEN 'added'
               WHEN j.add THEN 'full'
               WHEN j.present THEN 'removed'
               ELSE 'absent' END AS outcome
      FROM judged j
), added AS (
    INSERT INTO message_reaction (channel_id, message_id, emoji, user_id)
    SELECT channel_id, message_id, emoji, user_id FROM outcomes WHERE outcome = 'added'
), removed AS (
    DELETE FROM message_reaction r
     USING outcomes o
     WHERE o.outcome = 'removed'
       AND r.channel_id = o.channel_id AND r.message_id = o.message_id AND r.emoji = o.emoji
       AND r.user_id = o.user_id
), recorded AS (
    SELECT record_changes(:notify_channel, array_agg(o.channel_id ORDER BY o.ord), array_agg(o.message_id ORDER BY o.ord),
                          array_agg(CASE
                              WHEN o.add THEN jsonb_build_object('kind', 'reaction_added', 'message_id', o.message_id,
                                                                 'user_id', o.user_id, 'emoji', o.emoji)
                              ELSE jsonb_build_object('kind', 'reaction_removed', 'message_id', o.message_id,
                                                      'user_id', o.user_id, 'emoji', o.emoji) END
                          ORDER BY o.ord)) AS changes
      FROM outcomes o
     WHERE o.outcome IN ('added', 'removed')
)
SELECT b.ord, COALESCE(o.outcome, 'missing') AS outcome
  FROM batch b
  LEFT JOIN outcomes o ON o.ord = b.ord, recorded;

-- name: clear_reactions(notify_channel, ords, channel_ids, message_ids)
-- Every reaction of each message (at most one item per message): 'cleared'; 'absent' (it had
-- none); 'missing' (no message of that id in the channel, or it is deleted).
WITH target AS (
    SELECT b.ord, b.channel_id, b.message_id, m.id IS NOT NULL AS found
      FROM unnest(:ords::bigint[], :channel_ids::uuid[], :message_ids::uuid[]) AS b(ord, channel_id, message_id)
      LEFT JOIN chatmessage m ON m.id = b.message_id AND m.channel_id = b.channel_id AND m.deleted_at IS NULL
), removed AS (
    DELETE FROM message_reaction r
     USING target t
     WHERE t.found AND r.channel_id = t.channel_id AND r.message_id = t.message_id
    RETURNING r.message_id
), cleared AS (
    SELECT DISTINCT message_id FROM removed
), recorded AS (
    SELECT record_changes(:notify_channel, array_agg(t.channel_id ORDER BY t.ord), array_agg(t.message_id ORDER BY t.ord),
                          array_agg(jsonb_build_object('kind', 'reactions_cleared', 'message_id', t.message_id)
                                    ORDER BY t.ord)) AS changes
      FROM target t
      JOIN cleared c ON c.message_id = t.message_id
)
SELECT t.ord, CASE WHEN NOT t.found THEN 'missing' WHEN c.message_id IS NOT NULL THEN 'cleared' ELSE 'absent' END
           AS outcome
  FROM target t
  LEFT JOIN cleared c ON c.message_id = t.message_id, recorded;

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
