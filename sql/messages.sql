-- name: insert_message(notify_channel, server_id, channel_id, user_id, username, text, nonce)^
-- One statement, one transaction: take the channel's next seq (its row lock orders concurrent
-- writers), insert, and NOTIFY. PostgreSQL delivers a notification only on commit, in commit
-- order, so every chatd process hears of exactly the committed messages. Text that would push
-- the payload past NOTIFY's 8000-byte limit is left out; listeners fetch it by id.
-- A nonce its author used in the last 5 minutes returns that message instead (created false).
WITH earlier AS (
    SELECT id, server_id, channel_id, user_id, text, created_at, seq, nonce
      FROM chatmessage
     WHERE :nonce::text IS NOT NULL AND user_id = :user_id AND nonce = :nonce
       AND created_at > now() - interval '5 minutes'
     LIMIT 1
), next AS (
    UPDATE chatchannel SET last_seq = last_seq + 1
     WHERE id = :channel_id AND NOT EXISTS (SELECT 1 FROM earlier)
    RETURNING last_seq
), inserted AS (
    INSERT INTO chatmessage (server_id, channel_id, user_id, text, seq, nonce)
    SELECT :server_id, :channel_id, :user_id, :text, last_seq, :nonce FROM next
    RETURNING id, server_id, channel_id, user_id, text, created_at, seq, nonce
), notified AS (
    SELECT i.*, pg_notify(:notify_channel, json_build_object(
               'kind', 'message', 'id', i.id, 'server_id', i.server_id,
               'channel_id', i.channel_id, 'user_id', i.user_id, 'username', :username::text,
               'created_at', i.created_at, 'seq', i.seq, 'nonce', i.nonce,
               'text', CASE WHEN octet_length(to_json(i.text)::text) <= 6000 THEN i.text END
           )::text) AS notified
      FROM inserted i
)
SELECT id, server_id, channel_id, user_id, :username AS username, text, created_at, seq, nonce,
       true AS created
  FROM notified
UNION ALL
SELECT id, server_id, channel_id, user_id, :username, text, created_at, seq, nonce, false
  FROM earlier;

-- name: get_message(message_id)^
-- A message whose text was too long to travel in its notification.
SELECT m.id, m.server_id, m.channel_id, m.user_id, u.username, m.text, m.created_at, m.seq, m.nonce
  FROM chatmessage m
  JOIN users u ON u.user_id = m.user_id
 WHERE m.id = :message_id;

-- name: list_messages_after_seq(channel_id, after_seq, lim)
-- Resume: what a client missed, in seq order (the unique (channel_id, seq) index).
SELECT m.id, m.server_id, m.channel_id, m.user_id, u.username, m.text, m.created_at, m.seq, m.nonce
  FROM chatmessage m
  JOIN users u ON u.user_id = m.user_id
 WHERE m.channel_id = :channel_id
   AND m.seq > :after_seq
 ORDER BY m.seq
 LIMIT :lim;

-- name: list_messages_of_servers_since(server_ids, since)
-- Catching up after the LISTEN connection was lost: everything recent in the servers this
-- process has clients for; the caller skips what it already delivered (by seq).
SELECT m.id, m.server_id, m.channel_id, m.user_id, u.username, m.text, m.created_at, m.seq, m.nonce
  FROM chatmessage m
  JOIN users u ON u.user_id = m.user_id
 WHERE m.created_at > :since
   AND m.server_id = any(:server_ids::uuid[])
 ORDER BY m.channel_id, m.seq;

-- name: list_messages_page(channel_id, lim, skip)
-- The newest messages after skipping `skip`, returned oldest first so a client can append
-- them as they are. Reads ix_chatmessage_channel_id_created_at_id backwards.
SELECT * FROM (
    SELECT m.id, m.server_id, m.channel_id, m.user_id, u.username, m.text, m.created_at, m.seq
      FROM chatmessage m
      JOIN users u ON u.user_id = m.user_id
     WHERE m.channel_id = :channel_id
     ORDER BY m.created_at DESC, m.id DESC
     LIMIT :lim OFFSET :skip
) page
ORDER BY created_at, id;

-- name: list_messages_before(channel_id, before_id, lim, skip)
-- Keyset paging: deep history stays an index range scan, unlike OFFSET. The anchor comes in
-- as scalar subqueries so the row comparison is an index condition on
-- (channel_id, created_at, id), not a filter over every newer message. A `before` id that is
-- not a message of this channel compares with NULL: no rows.
SELECT * FROM (
    SELECT m.id, m.server_id, m.channel_id, m.user_id, u.username, m.text, m.created_at, m.seq
      FROM chatmessage m
      JOIN users u ON u.user_id = m.user_id
     WHERE m.channel_id = :channel_id
       AND (m.created_at, m.id) < (
               (SELECT a.created_at FROM chatmessage a WHERE a.id = :before_id AND a.channel_id = :channel_id),
               :before_id::uuid)
     ORDER BY m.created_at DESC, m.id DESC
     LIMIT :lim OFFSET :skip
) page
ORDER BY created_at, id;

-- name: message_exists_in_channel(message_id, channel_id)$
SELECT EXISTS (SELECT 1 FROM chatmessage WHERE id = :message_id AND channel_id = :channel_id);
