-- depends: 0019_dm_presence
-- Web Push (RFC 8030/8291/8292): the browsers' subscriptions, the pushes waiting to be sent,
-- and the VAPID key every process signs with.

-- A browser's push subscription: its endpoint (a bearer-like secret URL of its push service)
-- and the keys its payloads are encrypted to. An endpoint belongs to one user: registered
-- again by someone else, it moves to them.
CREATE TABLE push_subscription (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint   text NOT NULL UNIQUE,
    user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    p256dh     text NOT NULL,  -- base64url of the browser's P-256 public key (65 bytes)
    auth       text NOT NULL,  -- base64url of its 16-byte auth secret
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A message's recipients are looked up by user.
CREATE INDEX ix_push_subscription_user_id ON push_subscription (user_id);

-- The outbox: one row per subscription and notification, written after the message committed
-- and deleted once sent or given up. A worker claims due rows by moving next_attempt_at past
-- its lease, so a process that stops mid-send leaves them to the next worker when it expires.
CREATE TABLE push_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES push_subscription (id) ON DELETE CASCADE,
    payload         jsonb NOT NULL,  -- the notification, as the service worker receives it
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,  -- past it the push is dropped, never sent
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now()
);
-- The claim takes the due rows in order of next_attempt_at.
CREATE INDEX ix_push_outbox_next_attempt_at ON push_outbox (next_attempt_at);
-- A subscription's removal (410 from its push service) deletes its rows.
CREATE INDEX ix_push_outbox_subscription_id ON push_outbox (subscription_id);

-- The VAPID key generated when CHATD_VAPID_PRIVATE_KEY is not set: one row, written by the
-- first process to start, read by every other, so all sign with the same key.
CREATE TABLE vapid_key (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    private_key bytea NOT NULL CHECK (length(private_key) = 32),  -- the raw P-256 scalar
    created_at  timestamptz NOT NULL DEFAULT now()
);
