-- depends: 0020_mentions
-- The users a message's text names (chatd.domain.mentions' candidates: item `ords[i]` names
-- the user `ids[i]`, or the one called `names[i]` in any case), for the send and edit
-- statements, which both resolve mentions: each name is one probe of uq_users_lower_username.
CREATE FUNCTION named_users(ords bigint[], ids uuid[], names text[])
RETURNS TABLE (ord bigint, user_id uuid) LANGUAGE sql STABLE AS $$
    SELECT t.ord, COALESCE(t.user_id, u.user_id)
      FROM unnest(ords, ids, names) AS t(ord, user_id, name)
      LEFT JOIN LATERAL (SELECT u.user_id FROM users u
                          WHERE t.user_id IS NULL AND lower(u.username) = lower(t.name) LIMIT 1) u ON true
     WHERE COALESCE(t.user_id, u.user_id) IS NOT NULL
$$;
