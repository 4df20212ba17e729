-- name: publish_event(notify_channel, payload)$
-- Typing notes, for every chatd process. Message, membership, channel and server notes are
-- sent by the statement that makes the change, inside its transaction, so each goes out
-- exactly when its change commits.
SELECT pg_notify(:notify_channel, :payload);
