-- depends: 0035_edits_in_one_round_trip
-- Where each reader is in each channel they read, as one flat join: the readers' rows of
-- three arms (members and a server's channels, recipients and their conversations, followers
-- and their threads), each arm reading chatchannel once, and the reader's read_state row read
-- once over all three. channel_unread (migration 0034) read the channels through channel_reader
-- and joined chatchannel again, with a lateral read_pointer (a plan node per row) and a lateral
-- for `counted`: for a reader of a thousand channels those nodes cost more than the listing.
-- Here every per-row choice is an expression: the pointer is the stored one when it was stored
-- since the reader joined (or, in a thread, from when they followed it), and read_pointer,
-- which decides the join point, runs only for the others (a subplan the CASE reaches for
-- those rows alone). `counted`: the counts kept beside the pointer (migration 0032) are those
-- of the channel now; `fresh`, only where they are not: the counts counted afresh
-- (unread_counts), as an array only those rows build. The pointer reaches unread_counts as a
-- column of its own subquery: as an argument, the subplan it holds (the join point) would keep
-- PostgreSQL from inlining the function, and its index ranges would run as a function call.
-- The read_state row is looked up by its key for each channel (OFFSET 0
-- keeps it a lookup), whatever the plan's estimates: a prepared statement's generic plan
-- (from its sixth run) takes a reader's channels for a server's average, a handful, and as a
-- plain join it rescanned the reader's thousand rows for each of their thousand channels
-- (50 ms in the bench's full run, against 4 ms for the lookups). Same channels as
-- channel_reader's that take messages (no VOICE), threads only through thread_follower.
CREATE VIEW channel_reading AS
SELECT r.user_id, r.server_id, r.channel_id, r.position, r.last_seq, r.last_event_seq,
       x.pointer AS last_read_seq, s.user_id IS NOT NULL AS stored, s.own_seq,
       k.counted, s.counted_unread, s.counted_mentions,
       CASE WHEN NOT k.counted
            THEN (SELECT ARRAY[u.unread_count, u.mention_count]
                    FROM (SELECT x.pointer OFFSET 0) p
                   CROSS JOIN LATERAL unread_counts(r.user_id, r.channel_id, p.pointer, r.last_seq, s.own_seq) u)
       END AS fresh
  FROM (SELECT m.user_id, m.server_id, c.id AS channel_id, c.position, c.last_seq, c.last_event_seq,
               m.joined_at AS since, NULL::bigint AS since_seq
          FROM servermembership m
          JOIN chatchannel c ON c.server_id = m.server_id
         WHERE c.type NOT IN ('VOICE', 'THREAD')
        UNION ALL
        SELECT d.user_id, NULL, c.id, c.position, c.last_seq, c.last_event_seq, d.added_at, NULL
          FROM dm_recipient d
          JOIN chatchannel c ON c.id = d.channel_id
         WHERE c.type NOT IN ('VOICE', 'THREAD')
        UNION ALL
        SELECT f.user_id, c.server_id, c.id, c.position, c.last_seq, c.last_event_seq, NULL, f.since_seq
          FROM thread_follower f
          JOIN chatchannel c ON c.id = f.thread_id
          JOIN servermembership m ON m.server_id = c.server_id AND m.user_id = f.user_id) r
  LEFT JOIN LATERAL (SELECT s.user_id, s.last_read_seq, s.own_seq, s.updated_at, s.counted_event_seq,
                            s.counted_pointer, s.counted_unread, s.counted_mentions
                       FROM read_state s
                      WHERE s.user_id = r.user_id AND s.channel_id = r.channel_id
                     OFFSET 0) s ON true
 CROSS JOIN LATERAL (SELECT CASE WHEN r.since_seq IS NOT NULL THEN greatest(s.last_read_seq, r.since_seq)
                                 WHEN s.updated_at >= r.since THEN s.last_read_seq
                                 ELSE (SELECT p.pointer
                                         FROM read_pointer(r.channel_id, r.since, s.last_read_seq, s.updated_at) p)
                            END AS pointer) x
 CROSS JOIN LATERAL (SELECT s.counted_event_seq IS NOT DISTINCT FROM r.last_event_seq
                            AND s.counted_pointer IS NOT DISTINCT FROM x.pointer AS counted) k;

-- The same columns as before, from channel_reading: the counts kept, or those counted afresh.
CREATE OR REPLACE VIEW channel_unread AS
SELECT user_id, server_id, channel_id, position, last_read_seq, last_seq,
       counts[1] AS unread_count, counts[2] AS mention_count, last_event_seq, counted, stored
  FROM (SELECT r.*, CASE WHEN r.counted THEN ARRAY[r.counted_unread, r.counted_mentions] ELSE r.fresh END AS counts
          FROM channel_reading r) x;
