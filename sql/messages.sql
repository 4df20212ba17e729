-- name: insert_message(server_id, channel_id, user_id, text)^
INSERT INTO chatmessage (server_id, channel_id, user_id, text)
VALUES (:server_id, :channel_id, :user_id, :text)
RETURNING id, server_id, channel_id, user_id, text, created_at;

-- name: list_messages_page(channel_id, lim, skip)
-- The newest messages after skipping `skip`, returned oldest first so a client can append
-- them as they are. Reads ix_chatmessage_channel_id_created_at_id backwards.
SELECT * FROM (
    SELECT m.id, m.server_id, m.channel_id, m.user_id, u.username, m.text, m.created_at
      FROM chatmessage m
      JOIN users u ON u.user_id = m.user_id
     WHERE m.channel_id = :channel_id
     ORDER BY m.created_at DESC, m.id DESC
     LIMIT :lim OFFSET :skip
) page
ORDER BY created_at, id;

-- name: list_messages_before(before_id, channel_id, lim, skip)
-- Keyset paging: deep history stays an index range scan, unlike OFFSET. A `before` id
-- that is not a message of this channel yields no row at all from the anchor CTE.
WITH anchor AS (
    SELECT created_at, id FROM chatmessage WHERE id = :before_id AND channel_id = :channel_id
)
SELECT * FROM (
    SELECT m.id, m.server_id, m.channel_id, m.user_id, u.username, m.text, m.created_at
      FROM anchor a
      JOIN chatmessage m
        ON m.channel_id = :channel_id
       AND (m.created_at, m.id) < (a.created_at, a.id)
      JOIN users u ON u.user_id = m.user_id
     ORDER BY m.created_at DESC, m.id DESC
     LIMIT :lim OFFSET :skip
) page
ORDER BY created_at, id;

-- name: message_exists_in_channel(message_id, channel_id)$
SELECT EXISTS (SELECT 1 FROM chatmessage WHERE id = :message_id AND channel_id = :channel_id);
