DROP TABLE vapid_key;
DROP TABLE push_outbox;
DROP TABLE push_subscription;
