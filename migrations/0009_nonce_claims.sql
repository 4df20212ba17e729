-- depends: 0004_message_nonce 0008_message_changes
-- A claim's foreign key to its message was checked for every claim, at the end of each send's
-- statement, and its index on message_id kept up on every send, for one rare event: deleting
-- a server's messages. delete_server (sql/servers.sql) now deletes their claims itself.
ALTER TABLE chatmessage_nonce DROP CONSTRAINT chatmessage_nonce_message_id_fkey;
DROP INDEX ix_chatmessage_nonce_message_id;
