-- name: login_retry_after(username_key, username_limit, address_key, address_limit, window_seconds)$
-- Seconds until the username or the address may fail again, NULL when both may now. A key is
-- over its limit when its limit-th newest failure is still inside the window; that failure
-- leaving the window frees a slot. Each side is one short backward index range scan.
SELECT greatest(
    (SELECT extract(epoch FROM failed_at + make_interval(secs => :window_seconds) - now())
       FROM login_failure
      WHERE key = :username_key AND failed_at > now() - make_interval(secs => :window_seconds)
      ORDER BY failed_at DESC
     OFFSET :username_limit - 1 LIMIT 1),
    (SELECT extract(epoch FROM failed_at + make_interval(secs => :window_seconds) - now())
       FROM login_failure
      WHERE key = :address_key AND failed_at > now() - make_interval(secs => :window_seconds)
      ORDER BY failed_at DESC
     OFFSET :address_limit - 1 LIMIT 1)
)::float8;

-- name: record_login_failure(username_key, address_key, window_seconds)!
-- One failure for the username and one for the address; and a sweep of up to 100 failures
-- that left the window (of any key), so the table holds about one window of failures however
-- many names and addresses a flood tries. SKIP LOCKED: concurrent sweeps take different rows
-- instead of waiting on each other.
WITH expired AS (
    DELETE FROM login_failure
     WHERE ctid = any(ARRAY(SELECT ctid FROM login_failure
                             WHERE failed_at <= now() - make_interval(secs => :window_seconds)
                             ORDER BY failed_at
                             LIMIT 100
                               FOR UPDATE SKIP LOCKED))
)
INSERT INTO login_failure (key) VALUES (:username_key), (:address_key);

-- name: clear_login_failures(username_key)!
-- A successful login: the username starts afresh (its address's count stands).
DELETE FROM login_failure WHERE key = :username_key;
