DELETE FROM chatmessage_nonce n WHERE NOT EXISTS (SELECT 1 FROM chatmessage m WHERE m.id = n.message_id);
CREATE INDEX ix_chatmessage_nonce_message_id ON chatmessage_nonce (message_id);
ALTER TABLE chatmessage_nonce
    ADD CONSTRAINT chatmessage_nonce_message_id_fkey FOREIGN KEY (message_id) REFERENCES chatmessage (id) ON DELETE CASCADE;
