-- depends: 0003_chatd_node
-- Nonce claims: the message a client's nonce stands for. insert_message_batch (sql/messages.sql)
-- claims a nonce with INSERT ... ON CONFLICT in the statement that stores its message, and an
-- INSERT ON CONFLICT sees claims committed after its snapshot: the same nonce sent to two chatd
-- processes at once stores one message, where two batches each looking for an earlier message
-- could both miss the other's.

CREATE TABLE chatmessage_nonce (
    user_id    uuid NOT NULL,
    nonce      text NOT NULL,
    -- A claim lives no longer than its message (a deleted server takes both with it).
    message_id uuid NOT NULL REFERENCES chatmessage (id) ON DELETE CASCADE,
    -- The claiming transaction's start: never after its message's created_at, so a claim has
    -- expired by the time its message is too old to be repeated.
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, nonce)
);
-- Deleting messages deletes their claims through this index.
CREATE INDEX ix_chatmessage_nonce_message_id ON chatmessage_nonce (message_id);
