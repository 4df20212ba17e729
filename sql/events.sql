-- name: publish_event(notify_channel, payload)$
-- Membership, channel and typing events for every chatd process (messages notify in
-- insert_message, inside their own transaction).
SELECT pg_notify(:notify_channel, :payload);
