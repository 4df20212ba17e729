-- Editing and deleting messages. The changes that arrived together are made by one statement
-- of a kind (chatd.domain.changes), item k of the arrays being change `ord` k, holding the
-- channels' locks: a deletion after lock_channels_for_changes (sql/changes.sql) in the same
-- transaction, an edit taking them itself (make_edits). Holding them, the statement sees every
-- change committed before it, so its own check (the message is still there, not deleted)
-- cannot be overtaken. Each answers rows with the `ord` of the change they belong to.

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

-- name: edit_messages(notify_channel, ords, server_ids, channel_ids, message_ids, texts, user_ids, windows, everyones, heres, mention_ords, mention_ids, mention_names)
-- Each message with its new text, whether it changed, and its reactions as its author sees
-- them; an edit refused, or of a message deleted or gone, has no row (permissions.require_edit
-- says why). The statement is make_edits (migration 0035, which says what it checks and
-- writes): it takes its channels' locks itself, so an edit needs no transaction around it.
SELECT * FROM make_edits(:notify_channel, :ords, :server_ids, :channel_ids, :message_ids, :texts, :user_ids, :windows,
                         :everyones, :heres, :mention_ords, :mention_ids, :mention_names);

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
