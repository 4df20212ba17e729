-- depends: 0023_layout 0024_threads
-- What deletions leave behind is pruned (issues 17 and 19).
--
-- A notification setting names a server, or a channel (a thread too) or conversation, by
-- target_id alone; each scope's target now has a foreign key of its own (generated from
-- target_id by scope), so deleting a server, a channel or a conversation deletes the settings
-- of it in the same transaction, whichever statement deletes it. Settings of what is gone
-- already go first.
DELETE FROM notification_setting s
 WHERE CASE s.scope
       WHEN 'server' THEN NOT EXISTS (SELECT 1 FROM chatserver v WHERE v.id = s.target_id)
       ELSE NOT EXISTS (SELECT 1 FROM chatchannel c WHERE c.id = s.target_id) END;
ALTER TABLE notification_setting
    ADD COLUMN server_target uuid GENERATED ALWAYS AS (CASE WHEN scope = 'server' THEN target_id END) STORED
        REFERENCES chatserver (id) ON DELETE CASCADE,
    ADD COLUMN channel_target uuid GENERATED ALWAYS AS (CASE WHEN scope <> 'server' THEN target_id END) STORED
        REFERENCES chatchannel (id) ON DELETE CASCADE;
-- What a deletion's cascade looks up.
CREATE INDEX ix_notification_setting_server_target ON notification_setting (server_target)
    WHERE server_target IS NOT NULL;
CREATE INDEX ix_notification_setting_channel_target ON notification_setting (channel_target)
    WHERE channel_target IS NOT NULL;

-- Tombstones of deleted channels (and threads) are kept for CHATD_CHANGE_RETENTION, as the
-- changes a resume could still ask for are: the sweep that prunes message_change prunes them
-- too, the oldest first.
CREATE INDEX ix_deleted_channel_deleted_at ON deleted_channel (deleted_at);
