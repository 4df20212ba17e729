CREATE OR REPLACE FUNCTION dm_json(dm uuid) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
               'id', c.id, 'type', lower(c.type), 'owner_id', c.owner_id, 'created_at', c.created_at,
               'last_message_at', last_message_at(c.id),
               'recipients', COALESCE((SELECT json_agg(json_build_object('id', u.user_id, 'username', u.username)
                                                       ORDER BY r.added_at, r.user_id)
                                         FROM dm_recipient r
                                         JOIN users u ON u.user_id = r.user_id
                                        WHERE r.channel_id = c.id), '[]'))
      FROM chatchannel c
     WHERE c.id = dm AND c.server_id IS NULL
$$;
