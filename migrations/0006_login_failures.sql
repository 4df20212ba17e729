-- depends: 0005_username_case
-- Failed logins, one row each, so that every chatd process throttles guessing by the same
-- counts. `key` is 'user:' and a digest of the lower-cased username (never the name itself: a
-- password typed into the username field must not be kept), or 'addr:' and the client address.
-- Rows older than the throttling window are deleted as failures are recorded.

CREATE TABLE login_failure (
    key       text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
-- The throttle check: the newest failures of one key.
CREATE INDEX ix_login_failure_key_failed_at ON login_failure (key, failed_at);
-- The sweep: the oldest failures of every key.
CREATE INDEX ix_login_failure_failed_at ON login_failure (failed_at);
