-- depends: 0019_dm_presence
-- Channel categories and the server's layout (issue 19): a category holds channels in order;
-- a channel without one is uncategorized, listed first. Positions are dense (0, 1, 2, ...)
-- within a category, and within the server for categories. layout_version counts the changes
-- to a server's layout: a PUT of the layout names the version it was based on, and the
-- statement that makes any layout change bumps it, so of two edits based on one version
-- exactly one wins.
CREATE TABLE channel_category (
    id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    server_id uuid NOT NULL REFERENCES chatserver (id) ON DELETE CASCADE,
    name      text NOT NULL,
    position  integer NOT NULL,
    -- Checked at the end of each statement, not per row: a reorder moves many at once.
    CONSTRAINT uq_channel_category_server_id_position UNIQUE (server_id, position) DEFERRABLE
);

ALTER TABLE chatserver ADD COLUMN layout_version bigint NOT NULL DEFAULT 0;
ALTER TABLE chatchannel ADD COLUMN topic text;
ALTER TABLE chatchannel ADD COLUMN category_id uuid REFERENCES channel_category (id) ON DELETE SET NULL;
-- Deleting a category finds its channels by this index (and the foreign key's SET NULL too).
CREATE INDEX ix_chatchannel_category_id ON chatchannel (category_id) WHERE category_id IS NOT NULL;

-- Positions so far were whatever creators gave (duplicates allowed): made dense, in the
-- order the channels were listed.
UPDATE chatchannel c
   SET position = n.rank - 1
  FROM (SELECT id, row_number() OVER (PARTITION BY server_id ORDER BY position, created_at, id) AS rank
          FROM chatchannel
         WHERE server_id IS NOT NULL) n
 WHERE c.id = n.id AND c.position <> n.rank - 1;

-- One position per place: a partial, deferrable exclusion constraint, since a unique
-- constraint can be neither. Only a server's TEXT and VOICE channels have places (a
-- conversation has no server; threads, another type, are not in the layout). Its index is
-- also the one listing a server's channels in layout order.
ALTER TABLE chatchannel ADD CONSTRAINT ex_chatchannel_layout_position
    EXCLUDE USING btree (server_id WITH =,
                         (COALESCE(category_id, '00000000-0000-0000-0000-000000000000'::uuid)) WITH =,
                         position WITH =)
    WHERE (server_id IS NOT NULL AND type IN ('TEXT', 'VOICE'))
    DEFERRABLE;

-- A deleted channel's id and server, so that a client resuming it is told it was deleted
-- (channel_deleted) rather than that it never existed. Gone with its server.
CREATE TABLE deleted_channel (
    id         uuid PRIMARY KEY,
    server_id  uuid NOT NULL REFERENCES chatserver (id) ON DELETE CASCADE,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_deleted_channel_server_id ON deleted_channel (server_id);
