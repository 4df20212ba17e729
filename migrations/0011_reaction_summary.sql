-- depends: 0010_record_change
-- A message's reactions as history shows them, for whoever reads: each emoji with how many
-- reacted and whether `viewer` is one of them, in the order the emoji were first used. A
-- function so that each history query reads its page, its reactions and the channel's
-- eventSeq in one statement (one snapshot: what the page shows is exactly the changes up to
-- that eventSeq, and a resume from it neither misses nor repeats one). One range of the
-- primary key per message.
CREATE FUNCTION reaction_summary(channel uuid, message uuid, viewer uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(json_agg(json_build_object('emoji', x.emoji, 'count', x.count, 'me', x.me)
                             ORDER BY x.first_used, x.emoji), '[]')
      FROM (SELECT r.emoji, count(*) AS count, bool_or(r.user_id = viewer) AS me, min(r.created_at) AS first_used
              FROM message_reaction r
             WHERE r.channel_id = channel AND r.message_id = message
             GROUP BY r.emoji) x
$$;
