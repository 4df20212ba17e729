-- depends: 0036_channel_reading
-- Where a reader is in each channel they read (migration 0036's channel_reading) and their
-- unread counts (channel_unread), as functions of the reader: SQL functions of one SELECT,
-- which PostgreSQL inlines into the statement that calls them, the reader bound everywhere
-- it is needed. As views, the reader was a filter pushed into the channels' arms only, so
-- the reader's read_state rows had to be joined to their channels by a nested loop: either
-- a lookup per channel (migration 0036; a thousand index lookups, a quarter of the listing)
-- or, as a plain join under a prepared statement's generic plan, which takes a reader's
-- channels for a handful, the reader's rows rescanned for each channel (quadratic). Here the
-- reader's rows are read once and joined by a FULL JOIN, which PostgreSQL can only hash or
-- merge: linear whatever the estimates (the OFFSET 0 keeps it whole; the WHERE outside drops
-- rows of channels no longer read, and would otherwise turn it into a LEFT JOIN). The thread
-- arm starts from the reader's follows (the server membership check is a subplan per follow:
-- as a join, a generic plan probed thread_follower for every channel of the reader's
-- servers). Same channels, pointers and counts as migration 0036's views. `channels`, when
-- given, limits both to those channels: the filter a view took from outside, which the
-- OFFSET 0 would keep from reaching the arms (keep_unread_counts keeps a few channels' counts
-- and should not work out the pointer of every channel the reader reads).
DROP VIEW channel_unread;
DROP VIEW channel_reading;

CREATE FUNCTION channel_reading(reader uuid, channels uuid[] DEFAULT NULL)
    RETURNS TABLE (server_id uuid, channel_id uuid, "position" integer, last_seq bigint, last_event_seq bigint,
                   last_read_seq bigint, stored boolean, own_seq bigint, counted boolean, counted_unread bigint,
                   counted_mentions bigint, fresh bigint[])
    LANGUAGE sql STABLE
AS $$
SELECT j.server_id, j.channel_id, j.position, j.last_seq, j.last_event_seq, x.pointer, j.stored, j.own_seq,
       k.counted, j.counted_unread, j.counted_mentions,
       CASE WHEN NOT k.counted
            THEN (SELECT ARRAY[u.unread_count, u.mention_count]
                    FROM (SELECT x.pointer OFFSET 0) p
                   CROSS JOIN LATERAL unread_counts(j.user_id, j.channel_id, p.pointer, j.last_seq, j.own_seq) u)
       END
  FROM (SELECT r.user_id, r.server_id, r.channel_id, r.position, r.last_seq, r.last_event_seq, r.since, r.since_seq,
               s.user_id IS NOT NULL AS stored, s.last_read_seq, s.own_seq, s.updated_at, s.counted_event_seq,
               s.counted_pointer, s.counted_unread, s.counted_mentions
          FROM (SELECT m.user_id, m.server_id, c.id AS channel_id, c.position, c.last_seq, c.last_event_seq,
                       m.joined_at AS since, NULL::bigint AS since_seq
                  FROM servermembership m
                  JOIN chatchannel c ON c.server_id = m.server_id
                 WHERE m.user_id = reader
                   AND c.type NOT IN ('VOICE', 'THREAD')
                   AND (channels IS NULL OR c.id = any(channels))
                UNION ALL
                SELECT d.user_id, NULL, c.id, c.position, c.last_seq, c.last_event_seq, d.added_at, NULL
                  FROM dm_recipient d
                  JOIN chatchannel c ON c.id = d.channel_id
                 WHERE d.user_id = reader
                   AND c.type NOT IN ('VOICE', 'THREAD')
                   AND (channels IS NULL OR c.id = any(channels))
                UNION ALL
                SELECT f.user_id, c.server_id, c.id, c.position, c.last_seq, c.last_event_seq, NULL, f.since_seq
                  FROM thread_follower f
                  JOIN chatchannel c ON c.id = f.thread_id
                 WHERE f.user_id = reader
                   AND (channels IS NULL OR c.id = any(channels))
                   AND EXISTS (SELECT FROM servermembership m
                                WHERE m.server_id = c.server_id AND m.user_id = reader OFFSET 0)) r
          FULL JOIN (SELECT s.user_id, s.channel_id, s.last_read_seq, s.own_seq, s.updated_at, s.counted_event_seq,
                            s.counted_pointer, s.counted_unread, s.counted_mentions
                       FROM read_state s
                      WHERE s.user_id = reader
                        AND (channels IS NULL OR s.channel_id = any(channels))) s ON s.channel_id = r.channel_id
        OFFSET 0) j
 CROSS JOIN LATERAL (SELECT CASE WHEN j.since_seq IS NOT NULL THEN greatest(j.last_read_seq, j.since_seq)
                                 WHEN j.updated_at >= j.since THEN j.last_read_seq
                                 ELSE (SELECT p.pointer
                                         FROM read_pointer(j.channel_id, j.since, j.last_read_seq, j.updated_at) p)
                            END AS pointer) x
 CROSS JOIN LATERAL (SELECT j.counted_event_seq IS NOT DISTINCT FROM j.last_event_seq
                            AND j.counted_pointer IS NOT DISTINCT FROM x.pointer AS counted) k
 WHERE j.channel_id IS NOT NULL
$$;

-- The counts kept, or those counted afresh.
CREATE FUNCTION channel_unread(reader uuid, channels uuid[] DEFAULT NULL)
    RETURNS TABLE (server_id uuid, channel_id uuid, "position" integer, last_read_seq bigint, last_seq bigint,
                   unread_count bigint, mention_count bigint, last_event_seq bigint, counted boolean, stored boolean)
    LANGUAGE sql STABLE
AS $$
SELECT server_id, channel_id, position, last_read_seq, last_seq, counts[1], counts[2], last_event_seq, counted, stored
  FROM (SELECT r.*, CASE WHEN r.counted THEN ARRAY[r.counted_unread, r.counted_mentions] ELSE r.fresh END AS counts
          FROM channel_reading(reader, channels) r) x
$$;

-- GET /chat/unreads: the reader's listing, ordered, run by a plan made once per connection.
-- A prepared statement is planned afresh for each of its first five runs, then keeps a
-- generic plan only while that costs less than the custom plans did on average. The
-- listing's estimated cost grows with its tables between ANALYZEs (a listing's kept counts
-- alone rewrite the reader's read_state rows), so a connection whose first runs were costed
-- lower went on planning every listing anew (about 1.5 ms of planning for 2 ms of work, for
-- hundreds of runs). Here the statement is PL/pgSQL's, with plan_cache_mode set so that its
-- generic plan is the only one: the plan channel_reading's linear joins are made for. Its
-- rows come out in the order of its ORDER BY (RETURN QUERY appends them in turn).
CREATE FUNCTION unreads_of(reader uuid)
    RETURNS TABLE (server_id text, channel_id text, last_read_seq bigint, last_seq bigint, counted_unread bigint,
                   counted_mentions bigint, fresh bigint[], stored boolean)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    SELECT r.server_id::text, r.channel_id::text, r.last_read_seq, r.last_seq, r.counted_unread, r.counted_mentions,
           r.fresh, r.stored
      FROM channel_reading(reader) r
     ORDER BY r.server_id, r.position, r.channel_id;
END
$$;
