-- A server's layout: its categories and the order of its channels (migration 0023). Every
-- statement that changes the layout runs after lock_server_channels (sql/channels.sql) or
-- takes the server row itself, moves chatserver.layout_version on in the same statement, and
-- sends a note that makes each process send layout_updated; the note carries only the server: the layout of a big server does not
-- fit in a NOTIFY, so each process reads it once (get_layout) and sends it to its sockets.

-- name: get_layout(server_id)$
-- The whole layout as its JSON: {version, categories: [{id, name, position, channel_ids}],
-- uncategorized}; each list in order. NULL when there is no such server. Channels are read by
-- category (ix_chatchannel_category_id) and, uncategorized, by the server's index.
SELECT json_build_object(
           'version', s.layout_version,
           'categories', COALESCE((
               SELECT json_agg(json_build_object(
                          'id', k.id, 'name', k.name, 'position', k.position,
                          'channel_ids', COALESCE((SELECT json_agg(c.id ORDER BY c.position)
                                                     FROM chatchannel c
                                                    WHERE c.category_id = k.id
                                                      AND c.type IN ('TEXT', 'VOICE')), '[]'))
                          ORDER BY k.position)
                 FROM channel_category k
                WHERE k.server_id = s.id), '[]'),
           'uncategorized', COALESCE((SELECT json_agg(c.id ORDER BY c.position)
                                        FROM chatchannel c
                                       WHERE c.server_id = s.id
                                         AND c.category_id IS NULL
                                         AND c.type IN ('TEXT', 'VOICE')), '[]'))::text
  FROM chatserver s
 WHERE s.id = :server_id;

-- name: create_category(notify_channel, server_id, name)^
-- After the server's last category. Run after lock_server_channels, so categories created at
-- once get distinct, dense positions.
WITH created AS (
    INSERT INTO channel_category (server_id, name, position)
    SELECT :server_id, :name, count(*)
      FROM channel_category
     WHERE server_id = :server_id
    RETURNING id, server_id, name, position
), bumped AS (
    UPDATE chatserver
       SET layout_version = layout_version + 1
     WHERE id = :server_id
)
SELECT id, name, position,
       pg_notify(:notify_channel, json_build_object('kind', 'category_created', 'server_id', server_id)::text)
           AS notified
  FROM created;

-- name: rename_category(notify_channel, server_id, category_id, name)^
-- A new name leaves the order as it is: the version stays (a reorder based on it still
-- holds), and members hear layout_updated with the new name. No row: not a category of the
-- server.
WITH renamed AS (
    UPDATE channel_category
       SET name = :name
     WHERE id = :category_id
       AND server_id = :server_id
    RETURNING id, server_id, name, position
)
SELECT id, name, position,
       ARRAY(SELECT c.id FROM chatchannel c
              WHERE c.category_id = renamed.id AND c.type IN ('TEXT', 'VOICE')
              ORDER BY c.position) AS channel_ids,
       pg_notify(:notify_channel, json_build_object('kind', 'category_renamed', 'server_id', server_id)::text)
           AS notified
  FROM renamed;

-- name: delete_category(notify_channel, server_id, category_id)$
-- Run after lock_server_channels. Its channels become uncategorized, after those that were
-- already, in their order (the foreign key's SET NULL then finds none left to change); the
-- categories after it close up. No row: not a category of the server.
WITH deleted AS (
    DELETE FROM channel_category
     WHERE id = :category_id
       AND server_id = :server_id
    RETURNING id, server_id, position
), tail AS (
    SELECT count(*)::integer AS n
      FROM chatchannel
     WHERE server_id = :server_id
       AND category_id IS NULL
       AND type IN ('TEXT', 'VOICE')
), moved AS (
    UPDATE chatchannel c
       SET category_id = NULL, position = tail.n + c.position
      FROM deleted d, tail
     WHERE c.category_id = d.id
), closed AS (
    UPDATE channel_category k
       SET position = k.position - 1
      FROM deleted d
     WHERE k.server_id = d.server_id
       AND k.position > d.position
), bumped AS (
    UPDATE chatserver s
       SET layout_version = layout_version + 1
      FROM deleted d
     WHERE s.id = d.server_id
)
SELECT id, pg_notify(:notify_channel, json_build_object('kind', 'category_deleted', 'server_id', server_id)::text)
           AS notified
  FROM deleted;

-- name: put_layout(notify_channel, server_id, version, category_ids, channel_ids, channel_categories, channel_positions)$
-- The whole reorder in one statement: the version moves on only if it is still the one the
-- edit was based on (a concurrent edit holding the row makes this one wait, then find the
-- version moved and change nothing), and only then are categories and channels placed, each
-- from the arrays in one UPDATE ... FROM unnest (rows already in place are not written).
-- Returns the new version; no row (None) when the version was stale. The positions' unique
-- constraints are checked at the end of the statement (DEFERRABLE).
WITH bumped AS (
    UPDATE chatserver
       SET layout_version = layout_version + 1
     WHERE id = :server_id
       AND layout_version = :version
    RETURNING id, layout_version
), categories AS (
    UPDATE channel_category k
       SET position = l.ord - 1
      FROM bumped, unnest(:category_ids::uuid[]) WITH ORDINALITY AS l(id, ord)
     WHERE k.id = l.id
       AND k.server_id = bumped.id
       AND k.position <> l.ord - 1
), channels AS (
    UPDATE chatchannel c
       SET category_id = l.category_id, position = l.position
      FROM bumped, unnest(:channel_ids::uuid[], :channel_categories::uuid[], :channel_positions::integer[])
                       AS l(id, category_id, position)
     WHERE c.id = l.id
       AND c.server_id = bumped.id
       AND (c.category_id IS DISTINCT FROM l.category_id OR c.position <> l.position)
)
SELECT layout_version,
       pg_notify(:notify_channel, json_build_object('kind', 'layout_updated', 'server_id', id)::text) AS notified
  FROM bumped;

-- name: update_server(notify_channel, server_id, user_id, name, set_icon, icon)^
-- A rename and/or a new icon (`set_icon`: whether to write `icon`, NULL clearing it), answered
-- as the caller sees the server (with their role). Members hear server_updated on commit; the
-- note carries only the id (an icon may not fit in a NOTIFY): each process reads the server.
WITH updated AS (
    UPDATE chatserver
       SET name = COALESCE(:name::text, name),
           icon = CASE WHEN :set_icon::boolean THEN :icon::text ELSE icon END
     WHERE id = :server_id
    RETURNING id, name, icon, creator_id, created_at
)
SELECT u.id, u.name, u.icon, u.creator_id, u.created_at, m.role,
       pg_notify(:notify_channel, json_build_object('kind', 'server_updated', 'server_id', u.id)::text) AS notified
  FROM updated u
  JOIN servermembership m ON m.server_id = u.id AND m.user_id = :user_id;

-- name: get_server_profile(server_id)^
-- The server as every member sees it (server_updated): without a role, which is each one's own.
SELECT id, name, icon, creator_id, created_at
  FROM chatserver
 WHERE id = :server_id;
