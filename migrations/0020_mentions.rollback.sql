DROP VIEW message_row;
CREATE VIEW message_row AS
SELECT m.id, m.server_id, m.channel_id, m.user_id, u.username, m.text, m.created_at, m.seq, m.nonce,
       m.event_seq, m.edited_at, m.deleted_at, m.reply_to_id,
       r.user_id AS reply_user_id, ru.username AS reply_username, left(r.text, 200) AS reply_text,
       r.deleted_at IS NOT NULL AS reply_deleted,
       json_build_object(
           'kind', 'message', 'id', m.id, 'server_id', m.server_id, 'channel_id', m.channel_id,
           'user_id', m.user_id, 'username', u.username, 'created_at', m.created_at, 'seq', m.seq,
           'nonce', m.nonce, 'event_seq', m.event_seq, 'text', m.text,
           'reply_to', CASE WHEN r.id IS NOT NULL THEN json_build_object(
               'id', r.id, 'user_id', r.user_id, 'username', ru.username,
               'text', left(r.text, 200), 'deleted', r.deleted_at IS NOT NULL) END
       )::text AS note
  FROM chatmessage m
  JOIN users u ON u.user_id = m.user_id
  LEFT JOIN chatmessage r ON r.id = m.reply_to_id
  LEFT JOIN users ru ON ru.user_id = r.user_id;
DROP TABLE notification_setting;
DROP INDEX ix_chatmessage_everyone;
DROP INDEX ix_message_mention_user_id_created_at;
ALTER TABLE message_mention DROP COLUMN created_at, DROP COLUMN kind;
ALTER TABLE chatmessage DROP COLUMN mention_reply, DROP COLUMN mention_here, DROP COLUMN mentions;
