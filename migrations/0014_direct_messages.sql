-- depends: 0013_invites_bans
-- Direct messages are channels without a server, so they get everything a channel has (seq,
-- eventSeq, group commit, resume, edits, reactions) from the same tables and statements. A DM's
-- people are its dm_recipient rows; a 1:1 conversation is also named by its pair of users
-- (dm_pair), so concurrent "open a DM with X" requests find one row. channel_reader says who may
-- read a channel, server channel or DM, in one place: every access statement joins it.
ALTER TABLE chatchannel ALTER COLUMN server_id DROP NOT NULL;
ALTER TABLE chatmessage ALTER COLUMN server_id DROP NOT NULL;
ALTER TABLE chatchannel DROP CONSTRAINT chatchannel_type_check;
ALTER TABLE chatchannel ADD CONSTRAINT chatchannel_type_check
    CHECK (type IN ('TEXT', 'VOICE', 'DM', 'GROUP_DM'));
ALTER TABLE chatchannel ADD CONSTRAINT chatchannel_server_or_dm
    CHECK ((server_id IS NULL) = (type IN ('DM', 'GROUP_DM')));
-- A group DM's owner (who adds and removes people); NULL for 1:1 conversations.
ALTER TABLE chatchannel ADD COLUMN owner_id uuid REFERENCES users (user_id) ON DELETE SET NULL;
CREATE INDEX ix_chatchannel_owner_id ON chatchannel (owner_id) WHERE owner_id IS NOT NULL;

CREATE TABLE dm_recipient (
    channel_id uuid NOT NULL REFERENCES chatchannel (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, user_id)
);
-- "My conversations" starts from the user.
CREATE INDEX ix_dm_recipient_user_id ON dm_recipient (user_id);

-- The 1:1 conversation of two users, the lower user id first: one row per pair.
CREATE TABLE dm_pair (
    low_user_id  uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    high_user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    channel_id   uuid NOT NULL UNIQUE REFERENCES chatchannel (id) ON DELETE CASCADE,
    PRIMARY KEY (low_user_id, high_user_id),
    CHECK (low_user_id < high_user_id)
);
CREATE INDEX ix_dm_pair_high_user_id ON dm_pair (high_user_id);

-- user_id has blocked blocked_id: no new DM between them, no sending into their 1:1.
CREATE TABLE user_block (
    user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    blocked_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, blocked_id),
    CHECK (user_id <> blocked_id)
);
CREATE INDEX ix_user_block_blocked_id ON user_block (blocked_id);

-- Who reads which channel, with what role: a server's members read its channels; a DM's
-- recipients read it, as MEMBERs (nobody moderates a conversation).
CREATE VIEW channel_reader AS
SELECT c.id AS channel_id, c.server_id, m.user_id, m.role
  FROM chatchannel c
  JOIN servermembership m ON m.server_id = c.server_id
UNION ALL
SELECT r.channel_id, NULL::uuid AS server_id, r.user_id, 'MEMBER'::text AS role
  FROM dm_recipient r;
