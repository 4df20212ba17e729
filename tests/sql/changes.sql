-- name: add_old_change(channel_id, days)!
-- A change `days` old (its payload is never read: the retention sweep deletes it), taking the
-- channel's next event_seq as a real change would.
WITH bumped AS (
    UPDATE chatchannel SET last_event_seq = last_event_seq + 1 WHERE id = :channel_id
    RETURNING id, last_event_seq
)
INSERT INTO message_change (channel_id, event_seq, payload, created_at)
SELECT id, last_event_seq, '{}'::jsonb, now() - make_interval(days => :days) FROM bumped;

-- name: lock_changes()!
-- Held in a transaction, this makes a replay of the change stream wait.
LOCK TABLE message_change IN ACCESS EXCLUSIVE MODE;

-- name: count_changes(channel_id)$
SELECT count(*) FROM message_change WHERE channel_id = :channel_id;

-- name: lock_horizons()!
-- Held in a transaction, this makes a resume wait while it reads which channels it may replay.
LOCK TABLE message_change_horizon IN ACCESS EXCLUSIVE MODE;
