-- depends: 0001_initial
-- Per-channel message sequence numbers for resume, and client nonces for idempotent sends.

-- The counter lives on the channel row: a writer increments it inside the transaction that
-- inserts the message, so the row lock orders writers and a seq becomes visible only after
-- every smaller one of its channel has committed (no gaps seen by readers).
ALTER TABLE chatchannel ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE chatmessage ADD COLUMN seq bigint;
ALTER TABLE chatmessage ADD COLUMN nonce text;

UPDATE chatmessage m
   SET seq = numbered.n
  FROM (SELECT id, row_number() OVER (PARTITION BY channel_id ORDER BY created_at, id) AS n
          FROM chatmessage) numbered
 WHERE numbered.id = m.id;
UPDATE chatchannel c
   SET last_seq = (SELECT COALESCE(max(seq), 0) FROM chatmessage m WHERE m.channel_id = c.id);

ALTER TABLE chatmessage ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX uq_chatmessage_channel_id_seq ON chatmessage (channel_id, seq);
-- A resent nonce is looked up by its author.
CREATE INDEX ix_chatmessage_user_id_nonce ON chatmessage (user_id, nonce) WHERE nonce IS NOT NULL;
-- Catching up after a lost LISTEN connection reads recent messages of many channels.
CREATE INDEX ix_chatmessage_created_at ON chatmessage (created_at);
