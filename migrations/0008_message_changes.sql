-- depends: 0007_sessions
-- Messages that change: edits (with their earlier versions), deletions (tombstones), replies,
-- reactions, and the per-channel order of every change that a resume replays.

-- Every change to a channel's content (a new message, an edit, a deletion, a reaction...)
-- takes the channel's next event_seq. Like last_seq, the counter lives on the channel row: a
-- writer increments it in the transaction that makes the change, so the row lock orders
-- writers and an event_seq is visible only once every smaller one of its channel committed.
ALTER TABLE chatchannel ADD COLUMN last_event_seq bigint NOT NULL DEFAULT 0;

-- A new message's event_seq is on its row (it is replayed from there); existing messages were
-- the only changes so far, so their event_seq is their seq.
ALTER TABLE chatmessage ADD COLUMN event_seq bigint;
ALTER TABLE chatmessage ADD COLUMN edited_at timestamptz;
-- A deleted message stays as a tombstone (its seq stays taken) with its text erased.
ALTER TABLE chatmessage ADD COLUMN deleted_at timestamptz;
-- The message this one replies to, always of the same channel (checked when it is sent).
-- No foreign key: messages are only ever deleted with their channel, and a key would make
-- every deletion of a channel look up each message's replies.
ALTER TABLE chatmessage ADD COLUMN reply_to_id uuid;
UPDATE chatmessage SET event_seq = seq;
UPDATE chatchannel SET last_event_seq = last_seq;
ALTER TABLE chatmessage ALTER COLUMN event_seq SET NOT NULL;
-- Resume replays new messages by event_seq.
CREATE UNIQUE INDEX uq_chatmessage_channel_id_event_seq ON chatmessage (channel_id, event_seq);

-- Every other change, as the note that announced it (the same JSON, so a replay is the live
-- event again). Kept for CHATD_CHANGE_RETENTION, then deleted by the retention sweep.
CREATE TABLE message_change (
    channel_id uuid NOT NULL REFERENCES chatchannel (id) ON DELETE CASCADE,
    event_seq  bigint NOT NULL,
    -- The message changed (NULL for a bulk deletion): its stored edits are erased with it.
    message_id uuid,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, event_seq)
);
-- The retention sweep deletes the oldest changes first.
CREATE INDEX ix_message_change_created_at ON message_change (created_at);
-- Deleting a message erases the text of its edits' changes.
CREATE INDEX ix_message_change_message_id ON message_change (message_id) WHERE message_id IS NOT NULL;

-- Per channel, the highest event_seq whose change the retention sweep deleted: a resume from
-- before it cannot be replayed (resync_required / 410).
CREATE TABLE message_change_horizon (
    channel_id     uuid PRIMARY KEY REFERENCES chatchannel (id) ON DELETE CASCADE,
    pruned_through bigint NOT NULL
);

-- Earlier versions of edited messages, erased when the message is deleted. Keyed by channel
-- first: deleting a channel removes them in one cascade, not one lookup per message.
CREATE TABLE message_edit (
    channel_id uuid NOT NULL REFERENCES chatchannel (id) ON DELETE CASCADE,
    message_id uuid NOT NULL,
    -- When this version was replaced by the next.
    replaced_at timestamptz NOT NULL,
    -- When this version was written (sent, or the edit before).
    written_at timestamptz NOT NULL,
    text       text NOT NULL,
    PRIMARY KEY (channel_id, message_id, replaced_at)
);

-- One row per user, emoji and message; who reacted is listed in user id order.
CREATE TABLE message_reaction (
    channel_id uuid NOT NULL REFERENCES chatchannel (id) ON DELETE CASCADE,
    message_id uuid NOT NULL,
    emoji      text NOT NULL,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, message_id, emoji, user_id)
);

-- A message as every read shows it: its author's name and what it replies to (cut at 200
-- characters; empty once that message is deleted), and as the note that announced it (what a
-- resume replays). Queries select the columns they need; the others are not computed.
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
