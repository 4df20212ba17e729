-- depends: 0014_direct_messages
-- Who may write to whom, and a conversation as clients see it, each written once for every
-- statement that needs it (sending into a 1:1, opening one, making or growing a group, the
-- connect lookup, listing conversations).

-- Two users may write to each other when they share a server (a range of
-- ix_servermembership_user_id, then the (server_id, user_id) key).
CREATE FUNCTION share_a_server(a uuid, b uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1
                     FROM servermembership x
                     JOIN servermembership y ON y.server_id = x.server_id AND y.user_id = b
                    WHERE x.user_id = a)
$$;

-- ... unless one of them has blocked the other (either way: a block says nothing of who).
CREATE FUNCTION blocked_between(a uuid, b uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM user_block
                    WHERE (user_id = a AND blocked_id = b) OR (user_id = b AND blocked_id = a))
$$;

-- When a channel last had a message (the end of its (channel_id, created_at, id) index): a
-- conversation's latest activity, which orders GET /chat/dms and `connected`'s dms.
CREATE FUNCTION last_message_at(channel uuid) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT max(created_at) FROM chatmessage WHERE channel_id = channel
$$;

-- A conversation as GET /chat/dms/{id} answers it and dm_created carries it: everyone in it
-- (the longest present first) and when it last had a message. NULL when there is no such DM.
CREATE FUNCTION dm_json(dm uuid) RETURNS json LANGUAGE sql STABLE AS $$
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
