-- The seed's tables, under the seed's names, so its psql queries work verbatim.

CREATE TABLE users (
    user_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL,
    password_hash text,
    email         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE chatserver (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    icon       text,
    creator_id uuid NOT NULL REFERENCES users (user_id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_chatserver_name ON chatserver (name);

CREATE TABLE chatchannel (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    server_id  uuid NOT NULL REFERENCES chatserver (id) ON DELETE CASCADE,
    name       text NOT NULL,
    type       text NOT NULL CHECK (type IN ('TEXT', 'VOICE')),
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_chatchannel_server_id_position ON chatchannel (server_id, position);

CREATE TABLE chatmessage (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    server_id  uuid NOT NULL REFERENCES chatserver (id) ON DELETE CASCADE,
    channel_id uuid NOT NULL REFERENCES chatchannel (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (user_id),
    text       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ix_chatmessage_server_id_channel_id ON chatmessage (server_id, channel_id);
-- History pages walk this index backwards from the newest message (or from `before`).
CREATE INDEX ix_chatmessage_channel_id_created_at_id ON chatmessage (channel_id, created_at, id);
-- Deleting a user's account, and the seed's "active users" query, look messages up by author.
CREATE INDEX ix_chatmessage_user_id ON chatmessage (user_id);

CREATE TABLE servermembership (
    server_id uuid NOT NULL REFERENCES chatserver (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role      text NOT NULL DEFAULT 'MEMBER' CHECK (role IN ('ADMIN', 'MODERATOR', 'MEMBER')),
    joined_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_servermembership_server_id_user_id UNIQUE (server_id, user_id)
);
-- The unique constraint above is the seed's servermembership(server_id, user_id) index;
-- "my servers" starts from the user.
CREATE INDEX ix_servermembership_user_id ON servermembership (user_id);
