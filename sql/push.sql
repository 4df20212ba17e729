-- Web Push: subscriptions, the outbox of pushes to send, and the VAPID key (migration 0021).

-- name: save_push_subscription(user_id, endpoint, p256dh, auth)!
-- Registering an endpoint again updates its keys; registered by another user, it moves to them,
-- and the pushes still queued for its former owner go (they must not reach the new one).
WITH former AS (
    SELECT id FROM push_subscription WHERE endpoint = :endpoint AND user_id <> :user_id
), unsent AS (
    DELETE FROM push_outbox WHERE subscription_id IN (SELECT id FROM former)
)
INSERT INTO push_subscription (user_id, endpoint, p256dh, auth)
VALUES (:user_id, :endpoint, :p256dh, :auth)
ON CONFLICT (endpoint) DO UPDATE
   SET user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth;

-- name: delete_push_subscription(user_id, endpoint)$
-- Only the caller's own: another user's endpoint is as unknown as one never registered.
DELETE FROM push_subscription WHERE endpoint = :endpoint AND user_id = :user_id RETURNING id;

-- name: queue_pushes(user_ids, kinds, message_ids, channel_ids, server_ids, from_ids, from_names, previews, ttl_seconds)$
-- One row per subscription of each recipient with no socket on any process (a
-- chatd_node_user row anywhere means a socket, or the grace after one), for the notifications
-- of a batch of messages (item k of the arrays: recipient k, of message k); returns how many.
WITH queued AS (
    INSERT INTO push_outbox (subscription_id, payload, expires_at)
    SELECT s.id,
           jsonb_build_object('kind', r.kind, 'messageId', r.message_id, 'channelId', r.channel_id,
                              'serverId', r.server_id,
                              'from', jsonb_build_object('userId', r.from_id, 'username', r.from_name),
                              'preview', r.preview),
           now() + make_interval(secs => :ttl_seconds)
      FROM unnest(:user_ids::uuid[], :kinds::text[], :message_ids::uuid[], :channel_ids::uuid[], :server_ids::uuid[],
                  :from_ids::uuid[], :from_names::text[], :previews::text[])
           AS r (user_id, kind, message_id, channel_id, server_id, from_id, from_name, preview)
      JOIN push_subscription s ON s.user_id = r.user_id
     WHERE NOT EXISTS (SELECT 1 FROM chatd_node_user n WHERE n.user_id = r.user_id)
    RETURNING 1
)
SELECT count(*) FROM queued;

-- name: claim_pushes(lim, lease_seconds)
-- Takes up to `lim` due pushes for this worker: their next attempt moves past the lease, so no
-- other worker takes them meanwhile, and SKIP LOCKED lets concurrent claims take different
-- rows instead of waiting on each other. Expired ones are claimed too, to be dropped.
UPDATE push_outbox o
   SET attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => :lease_seconds)
  FROM push_subscription s
 WHERE o.id IN (SELECT id FROM push_outbox
                 WHERE next_attempt_at <= now()
                 ORDER BY next_attempt_at
                 LIMIT :lim
                   FOR UPDATE SKIP LOCKED)
   AND s.id = o.subscription_id
RETURNING o.id, o.payload::text AS payload, o.attempts, o.expires_at <= now() AS expired,
          greatest(ceil(extract(epoch FROM o.expires_at - now())), 1)::integer AS ttl,
          s.id AS subscription_id, s.endpoint, s.p256dh, s.auth;

-- name: delete_push(push_id)!
-- Sent, or given up.
DELETE FROM push_outbox WHERE id = :push_id;

-- name: retry_push(push_id, delay_seconds)!
UPDATE push_outbox SET next_attempt_at = now() + make_interval(secs => :delay_seconds) WHERE id = :push_id;

-- name: drop_push_subscription(subscription_id)!
-- Its push service says it is gone (404/410): its queued pushes go with it.
DELETE FROM push_subscription WHERE id = :subscription_id;

-- name: save_vapid_key(private_key)!
-- The first process to start keeps its key; the others' inserts change nothing.
INSERT INTO vapid_key (private_key) VALUES (:private_key) ON CONFLICT DO NOTHING;

-- name: get_vapid_key()$
SELECT private_key FROM vapid_key;
