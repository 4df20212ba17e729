DROP VIEW channel_unread;
DROP FUNCTION unread_counts(uuid, uuid, bigint, bigint, bigint);
DROP FUNCTION read_pointer(uuid, timestamptz, bigint, timestamptz);
DROP VIEW channel_reader;
CREATE VIEW channel_reader AS
SELECT c.id AS channel_id, c.server_id, m.user_id, m.role
  FROM chatchannel c
  JOIN servermembership m ON m.server_id = c.server_id
UNION ALL
SELECT r.channel_id, NULL::uuid AS server_id, r.user_id, 'MEMBER'::text AS role
  FROM dm_recipient r;
CREATE INDEX ix_chatmessage_user_id ON chatmessage (user_id);
DROP INDEX ix_chatmessage_user_id_channel_id_seq;
DROP INDEX ix_chatmessage_notable;
ALTER TABLE chatmessage DROP COLUMN mention_everyone;
DROP TABLE message_mention;
DROP TABLE read_state;
