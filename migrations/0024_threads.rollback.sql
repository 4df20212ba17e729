CREATE OR REPLACE VIEW channel_unread AS
SELECT r.user_id, r.server_id, c.id AS channel_id, c.position, p.pointer AS last_read_seq, c.last_seq,
       u.unread_count, u.mention_count
  FROM channel_reader r
  JOIN chatchannel c ON c.id = r.channel_id
  LEFT JOIN read_state s ON s.user_id = r.user_id AND s.channel_id = c.id
 CROSS JOIN LATERAL read_pointer(c.id, r.since, s.last_read_seq, s.updated_at) p
 CROSS JOIN LATERAL unread_counts(r.user_id, c.id, p.pointer, c.last_seq, s.own_seq) u
 WHERE c.type <> 'VOICE';
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
               'text', left(r.text, 200), 'deleted', r.deleted_at IS NOT NULL) END,
           'mentions', m.mentions, 'mention_everyone', m.mention_everyone, 'mention_here', m.mention_here,
           'mention_reply', m.mention_reply
       )::text AS note,
       m.mentions, m.mention_everyone, m.mention_here, m.mention_reply
  FROM chatmessage m
  JOIN users u ON u.user_id = m.user_id
  LEFT JOIN chatmessage r ON r.id = m.reply_to_id
  LEFT JOIN users ru ON ru.user_id = r.user_id;
DROP VIEW thread_row;
DROP TRIGGER chatmessage_thread_message_deleted ON chatmessage;
DROP FUNCTION thread_message_deleted();
DROP TABLE thread_follower;
DELETE FROM chatchannel WHERE type = 'THREAD';
DROP INDEX ix_chatchannel_thread_idle;
DROP INDEX ix_chatchannel_thread_activity;
ALTER TABLE chatchannel
    DROP CONSTRAINT uq_chatchannel_root_message_id,
    DROP CONSTRAINT chatchannel_auto_archive_minutes,
    DROP CONSTRAINT chatchannel_thread,
    DROP COLUMN last_message_at,
    DROP COLUMN message_count,
    DROP COLUMN auto_archive_minutes,
    DROP COLUMN locked,
    DROP COLUMN archived,
    DROP COLUMN created_by,
    DROP COLUMN root_message_id,
    DROP COLUMN parent_channel_id;
ALTER TABLE chatchannel DROP CONSTRAINT chatchannel_type_check;
ALTER TABLE chatchannel ADD CONSTRAINT chatchannel_type_check
    CHECK (type IN ('TEXT', 'VOICE', 'DM', 'GROUP_DM'));
