-- depends: 0019_dm_presence
-- Mentions, written by the send (and recomputed by an edit) in the message's statement, and
-- notification settings. What the read side of migration 0017 counts:
--   message_mention: a row per user a message mentions by `<@id>` or `@username` (kind 'user'),
--     per member with an open socket when it said `@here` (kind 'here': bounded by who is
--     online, and exact counts for them), and for the author of the message it replies to
--     (kind 'reply', unless the sender said mention_reply false). Members only.
--   chatmessage.mention_everyone: `@everyone` by a MODERATOR or ADMIN, one flag, never a row per
--     member.
ALTER TABLE chatmessage
    -- the users mentioned by `<@id>` / `@username` (kind 'user' rows), as every read shows them
    ADD COLUMN mentions uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN mention_here boolean NOT NULL DEFAULT false,
    -- a reply that mentions the author replied to (what an edit keeps)
    ADD COLUMN mention_reply boolean NOT NULL DEFAULT true;

ALTER TABLE message_mention
    ADD COLUMN kind text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'here', 'reply')),
    -- the message's created_at: GET /chat/mentions pages a user's mentions newest first
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
UPDATE message_mention x
   SET created_at = m.created_at
  FROM chatmessage m
 WHERE m.channel_id = x.channel_id AND m.seq = x.seq;

-- GET /chat/mentions: a user's direct mentions newest first, and each readable channel's
-- @everyone messages newest first (a probe per channel; the index holds only those).
CREATE INDEX ix_message_mention_user_id_created_at ON message_mention (user_id, created_at, channel_id, seq);
CREATE INDEX ix_chatmessage_everyone ON chatmessage (channel_id, created_at, seq)
    WHERE mention_everyone AND deleted_at IS NULL;

-- What a user wants to hear of a server, a channel or a conversation (no row: the default,
-- `all` in conversations, `mentions` in server channels; a channel's row overrides its
-- server's level; a mute of either silences the channel until `muted_until`).
CREATE TABLE notification_setting (
    user_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    scope       text NOT NULL CHECK (scope IN ('server', 'channel', 'dm')),
    target_id   uuid NOT NULL,
    level       text NOT NULL CHECK (level IN ('all', 'mentions', 'none')),
    muted_until timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, target_id)
);
-- Who hears every message of a channel or server (the push side's recipients of a plain message).
CREATE INDEX ix_notification_setting_all ON notification_setting (target_id) WHERE level = 'all';

-- message_row carries the mentions, in its columns and in its note (what a resume replays).
CREATE OR REPLACE VIEW message_row AS
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
