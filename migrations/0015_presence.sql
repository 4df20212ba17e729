-- depends: 0014_direct_messages
-- Presence: the status each user sets, kept across reconnects and processes, and which chatd
-- processes hold a socket of theirs. A user with no chatd_node_user row anywhere is offline.

-- One row per user who ever connected or set a status. `shown` is what others see: `status`
-- while the user has a row in chatd_node_user and is not invisible, else 'offline'. It is kept
-- by the one statement that changes presence (change_presences), under this row's lock, so the
-- `connected` frame and GET .../presences read it without counting sockets.
CREATE TABLE user_presence (
    user_id    uuid PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    status     text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'idle', 'dnd', 'invisible')),
    shown      text NOT NULL DEFAULT 'offline' CHECK (shown IN ('online', 'idle', 'dnd', 'offline')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A user with at least one socket on a chatd process (chatd_node.node_id), or in the 10 s grace
-- after their last one closed there. No foreign key to chatd_node: a process's rows outlive its
-- chatd_node row by the grace of a clean stop (`expires_at`), and those of a process that died
-- go when the live ones find its node row stale.
CREATE TABLE chatd_node_user (
    node_id    uuid NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    expires_at timestamptz,  -- set when its process stopped cleanly: gone after the grace
    PRIMARY KEY (node_id, user_id)
);
-- "Is the user connected anywhere" counts a user's rows.
CREATE INDEX ix_chatd_node_user_user_id ON chatd_node_user (user_id);
