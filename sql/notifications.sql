-- Mentions and notification settings (migration 0020). The mentions themselves are written by
-- the statements that store and edit messages (insert_message_batch, edit_messages).

-- name: list_mentions(user_id, before_id, lim)
-- GET /chat/mentions: the live messages by others that mention the user (a message_mention row:
-- <@id>, @username, @here, a reply to theirs) or say @everyone, in the channels and
-- conversations they read now, newest first by (created_at, channel_id, seq), before the
-- message `before_id` (NULL: from the newest). Each arm is index ranges read newest first and
-- stopped at `lim`: the user's mentions (ix_message_mention_user_id_created_at), and a probe of
-- each readable channel's @everyone messages (ix_chatmessage_everyone).
WITH anchor AS MATERIALIZED (
    SELECT COALESCE(a.created_at, 'infinity') AS created_at,
           COALESCE(a.channel_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff') AS channel_id,
           COALESCE(a.seq, 9223372036854775807) AS seq
      FROM (SELECT) AS one
      LEFT JOIN chatmessage a ON a.id = :before_id
), found AS (
    (SELECT x.created_at, x.channel_id, x.seq
       FROM message_mention x
       JOIN chatmessage m ON m.channel_id = x.channel_id AND m.seq = x.seq
      WHERE x.user_id = :user_id
        AND (x.created_at, x.channel_id, x.seq) < (SELECT created_at, channel_id, seq FROM anchor)
        AND m.deleted_at IS NULL
        AND m.user_id <> :user_id
        AND EXISTS (SELECT 1 FROM channel_reader r WHERE r.channel_id = x.channel_id AND r.user_id = :user_id)
      ORDER BY x.created_at DESC, x.channel_id DESC, x.seq DESC
      LIMIT :lim)
    UNION
    (SELECT e.created_at, e.channel_id, e.seq
       FROM channel_reader r
       CROSS JOIN anchor a
       CROSS JOIN LATERAL (
           SELECT m.created_at, m.channel_id, m.seq
             FROM chatmessage m
            WHERE m.channel_id = r.channel_id
              AND m.mention_everyone AND m.deleted_at IS NULL
              AND m.created_at <= a.created_at
              AND (m.created_at, m.channel_id, m.seq) < (a.created_at, a.channel_id, a.seq)
              AND m.user_id <> :user_id
            ORDER BY m.created_at DESC, m.seq DESC
            LIMIT :lim) e
      WHERE r.user_id = :user_id
      ORDER BY e.created_at DESC, e.channel_id DESC, e.seq DESC
      LIMIT :lim)
)
SELECT m.*, reaction_summary(m.channel_id, m.id, :user_id) AS reactions
  FROM (SELECT * FROM found ORDER BY created_at DESC, channel_id DESC, seq DESC LIMIT :lim) f
  JOIN message_row m ON m.channel_id = f.channel_id AND m.seq = f.seq
 ORDER BY f.created_at DESC, f.channel_id DESC, f.seq DESC;

-- name: message_exists(message_id)$
SELECT EXISTS (SELECT 1 FROM chatmessage WHERE id = :message_id);

-- name: notification_target_visible(user_id, scope, target_id)$
-- Whether the user sees what a notification setting names: a server they are a member of, a
-- channel of such a server, a conversation they are in.
SELECT CASE :scope
    WHEN 'server' THEN EXISTS (SELECT 1 FROM servermembership
                                WHERE server_id = :target_id AND user_id = :user_id)
    WHEN 'channel' THEN EXISTS (SELECT 1 FROM channel_reader
                                 WHERE channel_id = :target_id AND user_id = :user_id AND server_id IS NOT NULL)
    WHEN 'dm' THEN EXISTS (SELECT 1 FROM dm_recipient WHERE channel_id = :target_id AND user_id = :user_id)
    ELSE false END;

-- name: set_notification_setting(notify_channel, user_id, scope, target_id, level, muted_until)^
-- One setting, and the note that refreshes it on every process holding the user's sockets (the
-- processes cache each connected user's settings, to decide notifications without a query).
WITH written AS (
    INSERT INTO notification_setting AS s (user_id, scope, target_id, level, muted_until)
    VALUES (:user_id, :scope, :target_id, :level, :muted_until)
    ON CONFLICT (user_id, target_id) DO UPDATE
       SET scope = excluded.scope, level = excluded.level, muted_until = excluded.muted_until, updated_at = now()
    RETURNING s.user_id, s.scope, s.target_id, s.level, s.muted_until
)
SELECT w.scope, w.target_id, w.level, w.muted_until,
       pg_notify(:notify_channel, json_build_object(
           'kind', 'notification_settings_updated', 'user_id', w.user_id, 'scope', w.scope,
           'target_id', w.target_id, 'level', w.level, 'muted_until', w.muted_until)::text) AS notified
  FROM written w;

-- name: list_notification_settings(user_id)
-- The user's settings for what they still see (a setting outlives a server left or deleted,
-- unseen, and applies again if they rejoin it).
SELECT s.scope, s.target_id, s.level, s.muted_until
  FROM notification_setting s
 WHERE s.user_id = :user_id
   AND CASE s.scope
       WHEN 'server' THEN EXISTS (SELECT 1 FROM servermembership m
                                   WHERE m.server_id = s.target_id AND m.user_id = s.user_id)
       ELSE EXISTS (SELECT 1 FROM channel_reader r WHERE r.channel_id = s.target_id AND r.user_id = s.user_id) END
 ORDER BY s.scope, s.target_id;

-- name: list_push_candidates(message_ids)
-- Who may be pushed a notification of each stored message (not deleted), with the reason
-- (`kind`, strongest first: mention, reply, dm, message) and the settings that decide it
-- (chatd.domain.notifications.decide): those it mentions (message_mention), every reader for
-- @everyone and in a conversation, and in a server channel the readers whose channel or server
-- setting is `all` (ix_notification_setting_all). Not its author, and only users with a push
-- subscription (ix_push_subscription_user_id), looked at before anything else is looked up for
-- them: most users have none. The messages of a batch in one statement: Web Push asks once for
-- all a group commit stored.
WITH m AS (
    SELECT id, server_id, channel_id, seq, user_id, mention_everyone
      FROM chatmessage
     WHERE id = any(:message_ids::uuid[]) AND deleted_at IS NULL
), candidate AS (
    SELECT m.id AS message_id, x.user_id, CASE x.kind WHEN 'reply' THEN 2 ELSE 1 END AS rank
      FROM m JOIN message_mention x ON x.channel_id = m.channel_id AND x.seq = m.seq
    UNION ALL
    SELECT m.id, r.user_id, CASE WHEN m.mention_everyone THEN 1 ELSE 3 END
      FROM m CROSS JOIN LATERAL (SELECT r.user_id FROM channel_reader r
                                  WHERE (m.mention_everyone OR m.server_id IS NULL) AND r.channel_id = m.channel_id
                                 OFFSET 0) r
    UNION ALL
    SELECT m.id, s.user_id, 4
      FROM m JOIN notification_setting s ON s.target_id IN (m.channel_id, m.server_id) AND s.level = 'all'
)
SELECT DISTINCT ON (c.message_id, c.user_id) c.message_id, c.user_id,
       (ARRAY['mention', 'reply', 'dm', 'message'])[c.rank] AS kind,
       m.server_id IS NULL AS in_dm, ch.level AS channel_level, ch.muted_until AS channel_muted_until,
       sv.level AS server_level, sv.muted_until AS server_muted_until
  FROM candidate c
 CROSS JOIN LATERAL (SELECT 1 FROM push_subscription p WHERE p.user_id = c.user_id LIMIT 1) subscribed
  JOIN m ON m.id = c.message_id
 CROSS JOIN LATERAL (SELECT 1 FROM channel_reader r
                      WHERE r.channel_id = m.channel_id AND r.user_id = c.user_id LIMIT 1) reader
  LEFT JOIN notification_setting ch ON ch.user_id = c.user_id AND ch.target_id = m.channel_id
  LEFT JOIN notification_setting sv ON sv.user_id = c.user_id AND sv.target_id = m.server_id
 WHERE c.user_id <> m.user_id
 ORDER BY c.message_id, c.user_id, c.rank;
