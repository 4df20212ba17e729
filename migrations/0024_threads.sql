-- depends: 0019_dm_presence 0020_mentions
-- A thread is a channel (type THREAD) of its parent's server, started on one message of a TEXT
-- channel: history, sends, edits, reactions, resume, read state and search all work on it with
-- the thread's id, because they go through chatchannel and channel_reader (every member of the
-- server reads it). Its counters (message_count of messages not deleted, last_message_at) are
-- kept by the statements that change them, never counted; listings of a server's channels
-- leave threads out.
ALTER TABLE chatchannel DROP CONSTRAINT chatchannel_type_check;
ALTER TABLE chatchannel ADD CONSTRAINT chatchannel_type_check
    CHECK (type IN ('TEXT', 'VOICE', 'DM', 'GROUP_DM', 'THREAD'));
ALTER TABLE chatchannel
    ADD COLUMN parent_channel_id uuid REFERENCES chatchannel (id) ON DELETE CASCADE,
    -- No foreign key, as for reply_to_id: a message row goes only with its channel, which
    -- takes the thread with it (parent_channel_id).
    ADD COLUMN root_message_id uuid,
    ADD COLUMN created_by uuid REFERENCES users (user_id) ON DELETE SET NULL,
    ADD COLUMN archived boolean NOT NULL DEFAULT false,
    ADD COLUMN locked boolean NOT NULL DEFAULT false,
    ADD COLUMN auto_archive_minutes integer,
    ADD COLUMN message_count bigint NOT NULL DEFAULT 0,
    -- A thread's last activity: its creation, then each message (never NULL for a thread).
    ADD COLUMN last_message_at timestamptz,
    ADD CONSTRAINT chatchannel_thread CHECK (
        (type = 'THREAD') = (parent_channel_id IS NOT NULL)
        AND (type = 'THREAD') = (root_message_id IS NOT NULL)
        AND (type = 'THREAD') = (last_message_at IS NOT NULL)
        AND (type = 'THREAD') = (auto_archive_minutes IS NOT NULL)),
    ADD CONSTRAINT chatchannel_auto_archive_minutes CHECK (auto_archive_minutes IN (60, 1440, 4320, 10080)),
    -- One thread per message: a second start finds the first (409).
    ADD CONSTRAINT uq_chatchannel_root_message_id UNIQUE (root_message_id);
-- A channel's threads by latest activity: each listing page is a range of this index.
CREATE INDEX ix_chatchannel_thread_activity ON chatchannel (parent_channel_id, archived, last_message_at DESC, id)
    WHERE parent_channel_id IS NOT NULL;
-- The auto-archive sweep reads the open threads idle longest first.
CREATE INDEX ix_chatchannel_thread_idle ON chatchannel (last_message_at)
    WHERE type = 'THREAD' AND NOT archived;

-- Who follows a thread, since which of its messages: unread and mention counts of a thread are
-- theirs alone, counted after since_seq.
CREATE TABLE thread_follower (
    thread_id   uuid NOT NULL REFERENCES chatchannel (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    since_seq   bigint NOT NULL,
    followed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, user_id)
);
-- The unreads of a user start from the threads they follow.
CREATE INDEX ix_thread_follower_user_id ON thread_follower (user_id);

-- message_count counts messages not deleted: a deletion (delete_messages, one row or a bulk
-- of them) takes one off its thread. A trigger, because the deletion statement records its
-- changes with record_changes, which updates the same channel row in the same statement;
-- after-row triggers run once that statement is done. The channel row is locked already (by
-- lock_channels_for_changes), so this waits for nothing.
CREATE FUNCTION thread_message_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chatchannel SET message_count = message_count - 1
     WHERE id = NEW.channel_id AND type = 'THREAD';
    RETURN NULL;
END
$$;
CREATE TRIGGER chatmessage_thread_message_deleted AFTER UPDATE OF deleted_at ON chatmessage
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION thread_message_deleted();

-- A thread as every read shows it; root_deleted: its root message was deleted (it stands).
CREATE VIEW thread_row AS
SELECT t.id, t.server_id, t.parent_channel_id, t.root_message_id, t.name, t.created_by, t.created_at,
       t.archived, t.locked, t.auto_archive_minutes, t.message_count, t.last_message_at, t.last_seq,
       r.id IS NULL OR r.deleted_at IS NOT NULL AS root_deleted
  FROM chatchannel t
  LEFT JOIN chatmessage r ON r.id = t.root_message_id
 WHERE t.parent_channel_id IS NOT NULL;  -- a thread (chatchannel_thread), as the activity index says it

-- A message as every read shows it (migrations 0008, 0020), now with the thread started on it,
-- if any (the unique root_message_id index: a query that reads no thread_* column joins nothing).
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
       m.mentions, m.mention_everyone, m.mention_here, m.mention_reply,
       t.id AS thread_id, t.name AS thread_name, t.message_count AS thread_message_count,
       t.last_message_at AS thread_last_message_at
  FROM chatmessage m
  JOIN users u ON u.user_id = m.user_id
  LEFT JOIN chatmessage r ON r.id = m.reply_to_id
  LEFT JOIN users ru ON ru.user_id = r.user_id
  LEFT JOIN chatchannel t ON t.root_message_id = m.id;

-- Unread and mention counts (migration 0017): a thread's go to its followers only (still
-- members of its server), from where they began to follow or read further. Every other channel
-- as before.
CREATE OR REPLACE VIEW channel_unread AS
SELECT r.user_id, r.server_id, c.id AS channel_id, c.position, p.pointer AS last_read_seq, c.last_seq,
       u.unread_count, u.mention_count
  FROM channel_reader r
  JOIN chatchannel c ON c.id = r.channel_id
  LEFT JOIN read_state s ON s.user_id = r.user_id AND s.channel_id = c.id
 CROSS JOIN LATERAL read_pointer(c.id, r.since, s.last_read_seq, s.updated_at) p
 CROSS JOIN LATERAL unread_counts(r.user_id, c.id, p.pointer, c.last_seq, s.own_seq) u
 WHERE c.type NOT IN ('VOICE', 'THREAD')
UNION ALL
SELECT f.user_id, c.server_id, c.id AS channel_id, c.position, p.pointer AS last_read_seq, c.last_seq,
       u.unread_count, u.mention_count
  FROM thread_follower f
  JOIN chatchannel c ON c.id = f.thread_id
  JOIN servermembership m ON m.server_id = c.server_id AND m.user_id = f.user_id
  LEFT JOIN read_state s ON s.user_id = f.user_id AND s.channel_id = c.id
 CROSS JOIN LATERAL (SELECT greatest(s.last_read_seq, f.since_seq) AS pointer) p
 CROSS JOIN LATERAL unread_counts(f.user_id, c.id, p.pointer, c.last_seq, s.own_seq) u;
