DROP TABLE chatmessage_nonce;
