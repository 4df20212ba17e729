-- name: has_open_socket(user_id)$
-- Whether presence has written the user's socket (what @here reads).
SELECT EXISTS (SELECT 1 FROM chatd_node_user WHERE user_id = :user_id);

-- name: mention_rows_of(message_id)
-- A message's mention rows, as the send or edit wrote them.
SELECT x.user_id, x.kind
  FROM message_mention x
  JOIN chatmessage m ON m.channel_id = x.channel_id AND m.seq = x.seq
 WHERE m.id = :message_id
 ORDER BY x.user_id;
