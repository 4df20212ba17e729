-- name: copies_of_text(text)^
-- Where a text is still stored: the message rows, the earlier versions, the stored changes.
SELECT (SELECT count(*) FROM chatmessage WHERE text LIKE '%' || :text || '%') AS messages,
       (SELECT count(*) FROM message_edit WHERE text LIKE '%' || :text || '%') AS edits,
       (SELECT count(*) FROM message_change WHERE payload::text LIKE '%' || :text || '%') AS changes;

-- name: get_stored_message(message_id)^
SELECT text, edited_at, deleted_at, seq, event_seq FROM chatmessage WHERE id = :message_id;

-- name: count_message_edits(message_id)$
SELECT count(*) FROM message_edit WHERE message_id = :message_id;

-- name: count_message_reactions(message_id)$
SELECT count(*) FROM message_reaction WHERE message_id = :message_id;

-- name: add_reaction(channel_id, message_id, emoji, user_id)!
INSERT INTO message_reaction (channel_id, message_id, emoji, user_id)
VALUES (:channel_id, :message_id, :emoji, :user_id);

-- name: get_last_event_seq(channel_id)$
SELECT last_event_seq FROM chatchannel WHERE id = :channel_id;

-- name: list_stored_changes(channel_id)
SELECT event_seq, message_id, payload::text AS payload FROM message_change WHERE channel_id = :channel_id ORDER BY event_seq;

-- name: age_message(message_id, seconds)!
-- As if the message had been sent `seconds` earlier.
UPDATE chatmessage SET created_at = created_at - make_interval(secs => :seconds) WHERE id = :message_id;

-- name: hold_channel_row(channel_id)!
-- Holds the channel's row lock (until the transaction ends): changes of it wait behind it.
SELECT 1 FROM chatchannel WHERE id = :channel_id FOR UPDATE;

-- name: mark_message_deleted(message_id)!
-- A deletion as another process's would look once committed (no event: the test only needs the row).
UPDATE chatmessage SET deleted_at = now() WHERE id = :message_id;
