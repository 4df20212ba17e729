-- depends: 0019_dm_presence
-- Attachments: files uploaded into a channel, then attached to one message of their uploader.
-- The bytes live in the storage backend (chatd.store.storage) under storage_key; this row is
-- what the routes read. A row is written before its bytes, as an upload in progress
-- (size NULL): a process that dies mid-upload leaves a row the sweep finds, never a file
-- nobody knows of.
CREATE TABLE attachment (
    id           uuid PRIMARY KEY,
    uploader_id  uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    channel_id   uuid NOT NULL REFERENCES chatchannel (id) ON DELETE CASCADE,
    message_id   uuid REFERENCES chatmessage (id) ON DELETE CASCADE,
    storage_key  text NOT NULL UNIQUE,
    filename     text NOT NULL,
    content_type text,
    size         bigint,
    width        integer,
    height       integer,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- A message's files (history, events, serving, and the deletion trigger below).
CREATE INDEX ix_attachment_message_id ON attachment (message_id) WHERE message_id IS NOT NULL;
-- The sweep: uploads never attached, oldest first.
CREATE INDEX ix_attachment_unattached ON attachment (created_at) WHERE message_id IS NULL;
-- Deleting an account or a channel finds their files.
CREATE INDEX ix_attachment_uploader_id ON attachment (uploader_id);
CREATE INDEX ix_attachment_channel_id ON attachment (channel_id);

-- Files whose rows are gone, to delete from storage. Rows arrive by trigger, in the
-- transaction that deletes the attachment (however it goes: a message deleted, its channel,
-- server or uploader's account, the sweep), so a crash between that commit and the file's
-- deletion leaves a row here, not a file nobody knows of: chatd empties it after each such
-- commit and on every sweep.
CREATE TABLE attachment_trash (
    storage_key text PRIMARY KEY,
    trashed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION trash_attachment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO attachment_trash (storage_key) VALUES (OLD.storage_key) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER attachment_trashed AFTER DELETE ON attachment
    FOR EACH ROW EXECUTE FUNCTION trash_attachment();

-- A deleted message keeps its row as a tombstone (deleted_at); its files go.
CREATE FUNCTION drop_message_attachments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM attachment WHERE message_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER message_attachments_dropped AFTER UPDATE OF deleted_at ON chatmessage
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION drop_message_attachments();

-- A deleted account keeps its row, anonymised (deleted_at); what it uploaded goes.
CREATE FUNCTION drop_user_attachments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM attachment WHERE uploader_id = NEW.user_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER user_attachments_dropped AFTER UPDATE OF deleted_at ON users
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION drop_user_attachments();

-- A message's files as history, search and events show them (without their signed url,
-- which chatd adds for the reader), in upload order; NULL when it has none.
CREATE FUNCTION message_attachments(message uuid) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_agg(json_build_object('id', a.id, 'filename', a.filename, 'content_type', a.content_type,
                                      'size', a.size, 'width', a.width, 'height', a.height)
                    ORDER BY a.created_at, a.id)
      FROM attachment a
     WHERE a.message_id = message
$$;
