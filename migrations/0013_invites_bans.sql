-- depends: 0012_change_batches
-- Invite links and bans. An invite's code is its key (what a link carries); a revoked invite
-- keeps its row (revoked_at) so a revoked code is never handed out again. A ban keeps a user
-- out of one server: add_members joins no one who is banned, by invite or by an ADMIN.
CREATE TABLE server_invite (
    code       text PRIMARY KEY,
    server_id  uuid NOT NULL REFERENCES chatserver (id) ON DELETE CASCADE,
    created_by uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,           -- NULL: never expires
    max_uses   integer CHECK (max_uses > 0),  -- NULL: unlimited
    uses       integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    revoked_at timestamptz
);
-- A server's invites, newest first (GET .../invites); the creator's, for the foreign key's cascade.
CREATE INDEX ix_server_invite_server_id_created_at ON server_invite (server_id, created_at);
CREATE INDEX ix_server_invite_created_by ON server_invite (created_by);

CREATE TABLE server_ban (
    server_id  uuid NOT NULL REFERENCES chatserver (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    reason     text,
    banned_by  uuid REFERENCES users (user_id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server_id, user_id)
);
-- The foreign keys' lookups when a user row goes.
CREATE INDEX ix_server_ban_user_id ON server_ban (user_id);
CREATE INDEX ix_server_ban_banned_by ON server_ban (banned_by);

-- Whether an invite still lets people in: not revoked, not expired, uses left. One definition
-- for the preview, the list, the accept's checks and its statement (a SQL function: inlined).
CREATE FUNCTION invite_open(i server_invite) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT i.revoked_at IS NULL
       AND (i.expires_at IS NULL OR i.expires_at > now())
       AND (i.max_uses IS NULL OR i.uses < i.max_uses)
$$;
