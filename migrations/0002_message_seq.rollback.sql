DROP INDEX ix_chatmessage_created_at;
DROP INDEX ix_chatmessage_user_id_nonce;
DROP INDEX uq_chatmessage_channel_id_seq;
ALTER TABLE chatmessage DROP COLUMN nonce;
ALTER TABLE chatmessage DROP COLUMN seq;
ALTER TABLE chatchannel DROP COLUMN last_seq;
