-- Editing and deleting messages. Each change runs after lock_channel_for_change (sql/changes.sql)
-- in the same transaction: holding the channel's lock, the statement sees every change committed
-- before it, so its own check (the message is still there, not deleted) cannot be overtaken.

-- name: get_message_access(server_id, channel_id, message_id, user_id)^
-- What the edit and delete rules need, in one round trip: no row when the caller is not a
-- member; channel_type NULL when the channel is not this server's; author_id NULL when the
-- message is not this channel's. `age` is measured by the database's clock, the one that
-- wrote created_at.
SELECT m.role, c.type AS channel_type, msg.user_id AS author_id, msg.deleted_at IS NOT NULL AS deleted,
       statement_timestamp() - msg.created_at AS age
  FROM servermembership m
  LEFT JOIN chatchannel c ON c.id = :channel_id AND c.server_id = m.server_id
  LEFT JOIN chatmessage msg ON msg.id = :message_id AND msg.channel_id = c.id
 WHERE m.server_id = :server_id
   AND m.user_id = :user_id;

-- name: get_bulk_delete_access(server_id, channel_id, message_ids, user_id)^
-- The bulk deletion rule's facts: the caller's role, the channel's type, and how many of the
-- ids name messages of this channel (deleted ones too: deleting them again is skipped).
SELECT m.role, c.type AS channel_type,
       (SELECT count(*) FROM chatmessage msg
         WHERE msg.id = any(:message_ids::uuid[]) AND msg.channel_id = c.id) AS found
  FROM servermembership m
  LEFT JOIN chatchannel c ON c.id = :channel_id AND c.server_id = m.server_id
 WHERE m.server_id = :server_id
   AND m.user_id = :user_id;

-- name: edit_message(notify_channel, channel_id, message_id, text)^
-- The message with its new text, and whether it changed; no row when it is deleted (or gone).
-- The same text changes nothing and takes no event_seq. The version replaced is kept in
-- message_edit. statement_timestamp() is read after the channel's lock was granted, so edits
-- of a message are stamped in the order they were made. A text too long for NOTIFY travels in
-- message_change only (record_change).
WITH target AS (
    SELECT m.id, m.server_id, m.channel_id, m.user_id, m.username, m.text, m.created_at, m.seq, m.event_seq,
           m.edited_at, m.reply_to_id, m.reply_user_id, m.reply_username, m.reply_text, m.reply_deleted
      FROM message_row m
     WHERE m.id = :message_id
       AND m.channel_id = :channel_id
       AND m.deleted_at IS NULL
), edited AS (
    UPDATE chatmessage m
       SET text = :text, edited_at = statement_timestamp()
      FROM target t
     WHERE m.id = t.id
       AND t.text <> :text
    RETURNING m.id, m.text, m.edited_at
), kept AS (
    INSERT INTO message_edit (channel_id, message_id, replaced_at, written_at, text)
    SELECT t.channel_id, t.id, e.edited_at, COALESCE(t.edited_at, t.created_at), t.text
      FROM target t
      JOIN edited e ON e.id = t.id
), recorded AS (
    SELECT record_change(:notify_channel, :channel_id, e.id, jsonb_build_object(
               'kind', 'message_updated', 'id', e.id, 'text', e.text, 'edited_at', e.edited_at))
      FROM edited e
)
SELECT t.id, t.server_id, t.channel_id, t.user_id, t.username, COALESCE(e.text, t.text) AS text, t.created_at,
       t.seq, t.event_seq, COALESCE(e.edited_at, t.edited_at) AS edited_at, t.reply_to_id, t.reply_user_id,
       t.reply_username, t.reply_text, t.reply_deleted, e.id IS NOT NULL AS changed,
       (SELECT count(*) FROM recorded) AS recorded
  FROM target t
  LEFT JOIN edited e ON e.id = t.id;

-- name: list_message_edits(channel_id, message_id)
-- The earlier versions of a message, oldest first (the primary key's order).
SELECT text, written_at, replaced_at
  FROM message_edit
 WHERE channel_id = :channel_id
   AND message_id = :message_id
 ORDER BY replaced_at;

-- name: delete_messages(notify_channel, channel_id, message_ids, bulk)
-- The ids deleted, skipping those deleted already (or not of this channel). A deleted message
-- stays as a tombstone, so seq stays gapless, and no copy of its text survives: the row's text,
-- its earlier versions and the text of the message_updated changes that carried them are
-- erased in this statement, with its reactions. One note for all: message_deleted {id} for a
-- single deletion, messages_deleted {ids} for a bulk one (at most 100 ids fit NOTIFY's 8000
-- bytes); none, and no event_seq, when nothing was left to delete.
WITH deleted AS (
    UPDATE chatmessage
       SET text = '', deleted_at = statement_timestamp()
     WHERE id = any(:message_ids::uuid[])
       AND channel_id = :channel_id
       AND deleted_at IS NULL
    RETURNING id
), versions_erased AS (
    DELETE FROM message_edit e
     USING deleted d
     WHERE e.channel_id = :channel_id
       AND e.message_id = d.id
), reactions_removed AS (
    DELETE FROM message_reaction r
     USING deleted d
     WHERE r.channel_id = :channel_id
       AND r.message_id = d.id
), updates_erased AS (
    UPDATE message_change ch
       SET payload = jsonb_set(ch.payload, '{text}', '""')
      FROM deleted d
     WHERE ch.message_id = d.id
       AND ch.payload->>'kind' = 'message_updated'
), gathered AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM deleted
), recorded AS (
    SELECT record_change(:notify_channel, :channel_id, CASE WHEN NOT :bulk THEN g.ids[1] END, CASE
               WHEN :bulk THEN jsonb_build_object('kind', 'messages_deleted', 'ids', g.ids)
               ELSE jsonb_build_object('kind', 'message_deleted', 'id', g.ids[1]) END)
      FROM gathered g
     WHERE g.ids IS NOT NULL
)
SELECT d.id
  FROM deleted d, (SELECT count(*) FROM recorded) AS done;
