-- name: forget_vapid_key()!
DELETE FROM vapid_key;

-- name: get_test_vapid_key()$
SELECT private_key FROM vapid_key;

-- name: count_pushes()$
SELECT count(*) FROM push_outbox;

-- name: list_push_endpoints()
SELECT endpoint, user_id FROM push_subscription ORDER BY endpoint;

-- name: queue_expired_push(endpoint)!
-- A push whose TTL passed before any worker took it.
INSERT INTO push_outbox (subscription_id, payload, expires_at)
SELECT id, '{"kind": "dm"}', now() - interval '1 second' FROM push_subscription WHERE endpoint = :endpoint;
