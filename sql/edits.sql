-- Editing and deleting messages. The changes that arrived together are made by one statement
-- of a kind (chatd.domain.changes), item k of the arrays being change `ord` k, after
-- lock_channels_for_changes (sql/changes.sql) in the same transaction: holding the channels'
-- locks, the statement sees every change committed before it, so its own check (the message
-- is still there, not deleted) cannot be overtaken. Each answers rows with the `ord` of the
-- change they belong to.

-- name: get_message_access(server_id, channel_id, message_id, user_id)^
-- What the edit and delete rules need, in one round trip: no row when the caller does not
-- read there (channel_reader: not a member of the server, not a recipient of the DM; server_id
-- NULL names a DM); channel_type NULL when the channel is not this server's (a member's role
-- then comes from servermembership, only to answer "channel not found"); author_id NULL when
-- the message is not this channel's. `age` is measured by the database's clock, the one that
-- wrote created_at.
SELECT COALESCE(r.role, m.role) AS role, c.type AS channel_type, msg.user_id AS author_id,
       msg.deleted_at IS NOT NULL AS deleted, statement_timestamp() - msg.created_at AS age
  FROM (SELECT) AS one
  LEFT JOIN servermembership m ON m.server_id = :server_id AND m.user_id = :user_id
  LEFT JOIN chatchannel c ON c.id = :channel_id AND c.server_id IS NOT DISTINCT FROM :server_id::uuid
  LEFT JOIN channel_reader r ON r.channel_id = c.id AND r.user_id = :user_id
  LEFT JOIN chatmessage msg ON msg.id = :message_id AND msg.channel_id = c.id
 WHERE m.user_id IS NOT NULL OR r.user_id IS NOT NULL;

-- name: get_bulk_delete_access(server_id, channel_id, message_ids, user_id)^
-- The bulk deletion rule's facts: the caller's role (as get_message_access reads it), the
-- channel's type, and how many of the ids name messages of this channel (deleted ones too:
-- deleting them again is skipped).
SELECT COALESCE(r.role, m.role) AS role, c.type AS channel_type,
       (SELECT count(*) FROM chatmessage msg
         WHERE msg.id = any(:message_ids::uuid[]) AND msg.channel_id = c.id) AS found
  FROM (SELECT) AS one
  LEFT JOIN servermembership m ON m.server_id = :server_id AND m.user_id = :user_id
  LEFT JOIN chatchannel c ON c.id = :channel_id AND c.server_id IS NOT DISTINCT FROM :server_id::uuid
  LEFT JOIN channel_reader r ON r.channel_id = c.id AND r.user_id = :user_id
 WHERE m.user_id IS NOT NULL OR r.user_id IS NOT NULL;

-- name: edit_messages(notify_channel, ords, channel_ids, message_ids, texts, user_ids, windows, everyones, heres, mention_ords, mention_ids, mention_names)
-- Each message with its new text, whether it changed, and its reactions as its author sees
-- them. The edit rule (permissions.check_edit) is checked here, holding the channel's lock, so
-- it holds at the moment of the edit and costs no query of its own: the editor reads the
-- channel (channel_reader) and wrote the message, which is not deleted and, with a window
-- (CHATD_EDIT_WINDOW; NULL: none), no older than it. An edit refused, or of a message deleted
-- or gone, has no row (permissions.require_edit says why; tests/test_permissions.py checks
-- that the two agree). At most one edit of a message per statement. The same text changes
-- nothing and takes no event_seq. The version replaced is kept in message_edit.
-- statement_timestamp() is read after the channels' locks were granted, so edits of a
-- message are stamped in the order they were made. A text too long for NOTIFY travels in
-- message_change only (record_changes).
-- A changed text's mentions are resolved again, as a send resolves them (insert_message_batch):
-- message_mention follows the current text (a reply keeps mentioning its author, @here keeps
-- those it mentioned and, newly said, mentions who has a socket open now), and the note names
-- those mentioned newly (`notify`, `notify_everyone`, `notify_here`): only they hear of it.
WITH target AS (
    SELECT b.ord, b.text AS new_text, b.everyone, b.here, m.id, m.server_id, m.channel_id, m.user_id,
           m.username, m.text, m.created_at, m.seq, m.event_seq, m.edited_at, m.reply_to_id, m.reply_user_id,
           m.reply_username, m.reply_text, m.reply_deleted, m.mentions, m.mention_everyone, m.mention_here,
           m.mention_reply, reader.role, m.thread_id, m.thread_name, m.thread_message_count, m.thread_last_message_at
      FROM unnest(:ords::bigint[], :channel_ids::uuid[], :message_ids::uuid[], :texts::text[], :user_ids::uuid[],
                  :windows::interval[], :everyones::boolean[], :heres::boolean[])
           AS b(ord, channel_id, message_id, text, user_id, max_age, everyone, here)
      JOIN message_row m ON m.id = b.message_id AND m.channel_id = b.channel_id
      -- LIMIT keeps this a probe of the indexes per edit, not a hash of every membership
      CROSS JOIN LATERAL (SELECT r.role FROM channel_reader r
                           WHERE r.channel_id = b.channel_id AND r.user_id = b.user_id LIMIT 1) reader
     WHERE m.deleted_at IS NULL
       AND m.user_id = b.user_id
       AND (b.max_age IS NULL OR statement_timestamp() - m.created_at <= b.max_age)
), changing AS (
    SELECT t.*, t.everyone AND t.role IN ('MODERATOR', 'ADMIN') AS new_everyone,
           t.here AND t.role IN ('MODERATOR', 'ADMIN') AS new_here
      FROM target t
     WHERE t.text <> t.new_text
), candidates AS MATERIALIZED (
    -- Computed once, each arm an index probe per token or edit whatever the plan's estimates,
    -- as insert_message_batch's.
    SELECT n.ord, n.user_id, 1 AS rank
      FROM named_users(:mention_ords::bigint[], :mention_ids::uuid[], :mention_names::text[]) n
    UNION ALL
    SELECT c.ord, c.reply_user_id, 2 FROM changing c WHERE c.mention_reply AND c.reply_user_id IS NOT NULL
    UNION ALL
    SELECT c.ord, x.user_id, 3 FROM changing c
      JOIN message_mention x ON x.channel_id = c.channel_id AND x.seq = c.seq AND x.kind = 'here'
     WHERE c.new_here AND c.mention_here
    UNION ALL
    SELECT c.ord, r.user_id, 3 FROM changing c
     CROSS JOIN LATERAL (SELECT r.user_id FROM channel_reader r
                          WHERE c.new_here AND NOT c.mention_here AND r.channel_id = c.channel_id
                         OFFSET 0) r
     CROSS JOIN LATERAL (SELECT 1 FROM chatd_node_user n WHERE n.user_id = r.user_id LIMIT 1) online
     -- in a thread, @here (like @everyone) is for its followers, as in insert_message_batch
     WHERE NOT EXISTS (SELECT 1 FROM chatchannel t WHERE t.id = c.channel_id AND t.type = 'THREAD')
        OR EXISTS (SELECT 1 FROM thread_follower f WHERE f.thread_id = c.channel_id AND f.user_id = r.user_id)
), wanted AS (
    SELECT DISTINCT ON (c.ord, w.user_id) c.ord, c.channel_id, c.seq, c.created_at, w.user_id,
           (ARRAY['user', 'reply', 'here'])[w.rank] AS kind
      FROM candidates w
      JOIN changing c ON c.ord = w.ord
     CROSS JOIN LATERAL (SELECT 1 FROM channel_reader r
                          WHERE r.channel_id = c.channel_id AND r.user_id = w.user_id LIMIT 1) reader
     ORDER BY c.ord, w.user_id, w.rank
), unmentioned AS (
    DELETE FROM message_mention x
     USING changing c
     WHERE x.channel_id = c.channel_id AND x.seq = c.seq
       AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.ord = c.ord AND w.user_id = x.user_id)
), added AS (
    INSERT INTO message_mention (channel_id, seq, user_id, kind, created_at)
    SELECT channel_id, seq, user_id, kind, created_at FROM wanted ORDER BY user_id, channel_id, seq
    ON CONFLICT DO NOTHING
    RETURNING channel_id, seq, user_id, kind
), followed AS (
    -- In a thread, whom an edit names newly follows it, as whom a message names does
    -- (insert_message_batch's thread_followed): from just before the message.
    INSERT INTO thread_follower (thread_id, user_id, since_seq)
    SELECT a.channel_id, a.user_id, a.seq - 1
      FROM added a
      JOIN chatchannel c ON c.id = a.channel_id AND c.type = 'THREAD'
     WHERE a.kind = 'user'
     ORDER BY a.channel_id, a.user_id
    ON CONFLICT DO NOTHING
), edited AS (
    UPDATE chatmessage m
       SET text = c.new_text, edited_at = statement_timestamp(),
           mentions = COALESCE((SELECT array_agg(w.user_id ORDER BY w.user_id) FROM wanted w
                                 WHERE w.ord = c.ord AND w.kind = 'user'), '{}'),
           mention_everyone = c.new_everyone, mention_here = c.new_here
      FROM changing c
     WHERE m.id = c.id
    RETURNING m.id, m.text, m.edited_at, m.mentions, m.mention_everyone, m.mention_here
), kept AS (
    INSERT INTO message_edit (channel_id, message_id, replaced_at, written_at, text)
    SELECT t.channel_id, t.id, e.edited_at, COALESCE(t.edited_at, t.created_at), t.text
      FROM target t
      JOIN edited e ON e.id = t.id
), recorded AS (
    SELECT record_changes(:notify_channel, array_agg(t.channel_id ORDER BY t.ord), array_agg(e.id ORDER BY t.ord),
                          array_agg(jsonb_build_object(
                              'kind', 'message_updated', 'id', e.id, 'text', e.text, 'edited_at', e.edited_at,
                              'user_id', t.user_id, 'username', t.username,
                              'mentions', e.mentions, 'mention_everyone', e.mention_everyone,
                              'notify', COALESCE(n.ids, '{}'),
                              'notify_everyone', e.mention_everyone AND NOT t.mention_everyone,
                              'notify_here', e.mention_here AND NOT t.mention_here) ORDER BY t.ord)) AS changes
      FROM target t
      JOIN edited e ON e.id = t.id
      LEFT JOIN (SELECT a.channel_id, a.seq, array_agg(a.user_id ORDER BY a.user_id) AS ids FROM added a
                  WHERE a.kind = 'user' GROUP BY a.channel_id, a.seq) n ON n.channel_id = t.channel_id AND n.seq = t.seq
)
SELECT t.ord, t.id, t.server_id, t.channel_id, t.user_id, t.username, COALESCE(e.text, t.text) AS text,
       t.created_at, t.seq, t.event_seq, COALESCE(e.edited_at, t.edited_at) AS edited_at, t.reply_to_id,
       t.reply_user_id, t.reply_username, t.reply_text, t.reply_deleted, t.thread_id, t.thread_name,
       t.thread_message_count, t.thread_last_message_at, e.id IS NOT NULL AS changed,
       COALESCE(e.mentions, t.mentions) AS mentions, COALESCE(e.mention_everyone, t.mention_everyone) AS mention_everyone,
       reaction_summary(t.channel_id, t.id, t.user_id) AS reactions, message_attachments(t.id) AS attachments
  FROM target t
  LEFT JOIN edited e ON e.id = t.id, recorded;

-- name: list_message_edits(channel_id, message_id)
-- The earlier versions of a message, oldest first (the primary key's order).
SELECT text, written_at, replaced_at
  FROM message_edit
 WHERE channel_id = :channel_id
   AND message_id = :message_id
 ORDER BY replaced_at;

-- name: delete_messages(notify_channel, ords, channel_ids, message_ids, bulks)
-- The ids deleted, each with the `ord` of the deletion that deleted it, skipping those deleted
-- already (or not of that channel); a message named by several deletions goes to the first.
-- A deletion names one or more messages: the arrays hold one element per (deletion, message).
-- A deleted message stays as a tombstone, so seq stays gapless, and no copy of its text
-- survives: the row's text, its earlier versions and the text of the message_updated changes
-- that carried them are erased in this statement, with its reactions. One note per deletion:
-- message_deleted {id} for a single deletion, messages_deleted {ids} for a bulk one (at most
-- 100 ids fit NOTIFY's 8000 bytes); none, and no event_seq, when nothing was left to delete.
-- A thread's members hear its new message_count (thread_messages_deleted, clients' thread_updated):
-- the trigger of migration 0024 lowers it once this statement is done, so the note says what
-- it will be, from the count this statement reads (exact: the channel's lock, taken by
-- lock_channels_for_changes, keeps sends and other deletions of it waiting). A deletion is no
-- activity: last_message_at stays.
WITH named AS (
    SELECT DISTINCT ON (b.message_id) b.ord, b.channel_id, b.message_id, b.bulk
      FROM unnest(:ords::bigint[], :channel_ids::uuid[], :message_ids::uuid[], :bulks::boolean[])
           AS b(ord, channel_id, message_id, bulk)
     ORDER BY b.message_id, b.ord
), deleted AS (
    UPDATE chatmessage m
       SET text = '', deleted_at = statement_timestamp()
      FROM named n
     WHERE m.id = n.message_id
       AND m.channel_id = n.channel_id
       AND m.deleted_at IS NULL
    RETURNING n.ord, n.channel_id, n.bulk, m.id
), versions_erased AS (
    DELETE FROM message_edit e
     USING deleted d
     WHERE e.channel_id = d.channel_id
       AND e.message_id = d.id
), reactions_removed AS (
    DELETE FROM message_reaction r
     USING deleted d
     WHERE r.channel_id = d.channel_id
       AND r.message_id = d.id
), updates_erased AS (
    UPDATE message_change ch
       SET payload = jsonb_set(ch.payload, '{text}', '""')
      FROM deleted d
     WHERE ch.message_id = d.id
       AND ch.payload->>'kind' = 'message_updated'
), deletions AS (
    SELECT d.ord, d.channel_id, d.bulk, array_agg(d.id ORDER BY d.id) AS ids
      FROM deleted d
     GROUP BY d.ord, d.channel_id, d.bulk
), recorded AS (
    SELECT record_changes(:notify_channel, array_agg(g.channel_id ORDER BY g.ord),
                          array_agg(CASE WHEN NOT g.bulk THEN g.ids[1] END ORDER BY g.ord),
                          array_agg(CASE
                              WHEN g.bulk THEN jsonb_build_object('kind', 'messages_deleted', 'ids', g.ids)
                              ELSE jsonb_build_object('kind', 'message_deleted', 'id', g.ids[1]) END
                          ORDER BY g.ord)) AS changes
      FROM deletions g
), thread_noted AS (
    SELECT count(pg_notify(:notify_channel, json_build_object(
               'kind', 'thread_messages_deleted', 'server_id', t.server_id, 'thread_id', t.id, 'name', t.name,
               'message_count', t.message_count - g.n, 'last_message_at', t.last_message_at,
               'archived', t.archived, 'locked', t.locked)::text)) AS notes
      FROM (SELECT channel_id, count(*) AS n FROM deleted GROUP BY channel_id) g
      JOIN chatchannel t ON t.id = g.channel_id AND t.type = 'THREAD'
)
SELECT d.ord, d.id
  FROM deleted d, recorded, thread_noted;
