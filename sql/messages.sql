-- name: insert_message_batch(notify_channel, server_ids, channel_ids, user_ids, usernames, texts, nonces, reply_to_ids, everyones, heres, mention_replies, mention_ords, mention_ids, mention_names, attach_ords, attach_ids)
-- Group commit: the sends that arrived together, as one statement and one commit (item k of
-- the arrays is message `ord` k). The send rule is checked in the same statement that
-- inserts, so it holds at the moment of the insert: the sender reads the channel
-- (channel_reader: a member of its server, or a recipient of the DM; server_id NULL names a
-- DM), the channel takes messages (a TEXT channel, a DM, a group DM), and in a 1:1 the other
-- one shares a server with the sender and neither has blocked the other. One row per item the
-- statement accepts:
--   created false: its nonce repeats one its author used in the last 5 minutes (or an earlier
--                  item of this batch); that message is returned and nothing is stored;
--   created true:  stored now, with the channel's next seq and next event_seq.
-- An item with no row was refused (permissions.require_send says why; or its reply_to is not
-- a message of its channel, which chatd.domain.messages checks first), its channel is gone,
-- or its nonce was claimed by another process's batch that committed while this statement
-- ran: `earlier` reads the snapshot taken when the statement started and misses that
-- message, which a statement of its own finds (the group commit runs one for such items).
-- Channel rows are locked in id order, and nonces claimed in (user, nonce) order, so
-- concurrent batches cannot deadlock; each counter moves once per batch, and only for items
-- that are stored. Notes go out in seq order and PostgreSQL delivers them on commit, in
-- commit order. Text that would push a note past NOTIFY's 8000 bytes is fetched by id. Each
-- sender's read pointer moves to their message (read_own).
-- In a thread (migration 0024) the same statement keeps its counters (message_count,
-- last_message_at: never counted), unarchives it unless it is locked, makes each sender a
-- follower (thread_followed) and sends thread_activity for it; in a locked thread only
-- MODERATORs and ADMINs post.
-- Mentions (chatd.domain.mentions parsed the candidates: `<@id>` and `@name` tokens, one array
-- element each with its item's ord; whether the text says @everyone / @here) are resolved here
-- against the membership of the moment of the insert (`mentioned`, migration 0020).
-- Files: item attach_ords[i] attaches attach_ids[i]; an item is refused unless each of its files
-- is its sender's complete upload to that channel, attached to nothing (locked: two sends naming
-- one file cannot both take it).
WITH batch AS (
    SELECT *
      FROM unnest(:server_ids::uuid[], :channel_ids::uuid[], :user_ids::uuid[], :usernames::text[],
                  :texts::text[], :nonces::text[], :reply_to_ids::uuid[], :everyones::boolean[], :heres::boolean[],
                  :mention_replies::boolean[])
           WITH ORDINALITY AS b(server_id, channel_id, user_id, username, text, nonce, reply_to_id, everyone, here,
                                mention_reply, ord)
), allowed AS (
    SELECT b.*
      FROM batch b
      JOIN chatchannel c ON c.id = b.channel_id AND c.server_id IS NOT DISTINCT FROM b.server_id
                        AND c.type IN ('TEXT', 'DM', 'GROUP_DM', 'THREAD')
      -- LIMIT keeps this a probe of the view's indexes per item, not a hash of every membership
      CROSS JOIN LATERAL (SELECT r.role FROM channel_reader r
                           WHERE r.channel_id = b.channel_id AND r.user_id = b.user_id LIMIT 1) reader
     WHERE (NOT c.locked OR reader.role IN ('MODERATOR', 'ADMIN'))
       AND (c.type <> 'DM'
            OR EXISTS (SELECT 1 FROM dm_recipient o
                        WHERE o.channel_id = b.channel_id AND o.user_id <> b.user_id
                          AND share_a_server(b.user_id, o.user_id) AND NOT blocked_between(b.user_id, o.user_id)))
       AND (b.reply_to_id IS NULL
            OR EXISTS (SELECT 1 FROM chatmessage x
                        WHERE x.id = b.reply_to_id AND x.channel_id = b.channel_id AND x.deleted_at IS NULL))
), earlier AS (
    SELECT DISTINCT ON (a.ord) a.ord, a.username, e.id, e.server_id, e.channel_id, e.user_id, e.text,
           e.created_at, e.seq, e.nonce, e.event_seq, e.reply_to_id, e.edited_at, e.mentions, e.mention_everyone,
           e.mention_here, e.mention_reply
      FROM allowed a
      -- A probe of ix_chatmessage_user_id_nonce (partial: nonce IS NOT NULL) per item, whatever
      -- the statistics say (OFFSET 0 keeps it a subquery of its item): as a join, a generic plan
      -- made while few messages had a nonce read the whole index for every item, and more of it
      -- with every message sent.
     CROSS JOIN LATERAL (SELECT e.* FROM chatmessage e
                          WHERE e.user_id = a.user_id AND e.nonce = a.nonce AND e.nonce IS NOT NULL
                            AND e.created_at > now() - interval '5 minutes'
                         OFFSET 0) e
     ORDER BY a.ord, e.created_at
), wanted AS (
    SELECT w.ord, w.attachment_id
      FROM unnest(:attach_ords::bigint[], :attach_ids::uuid[]) AS w(ord, attachment_id)
), files AS MATERIALIZED (
    SELECT w.ord, f.id, f.filename, f.content_type, f.size, f.width, f.height, f.created_at
      FROM wanted w
      JOIN allowed a ON a.ord = w.ord
      JOIN attachment f ON f.id = w.attachment_id AND f.uploader_id = a.user_id AND f.channel_id = a.channel_id
                       AND f.message_id IS NULL AND f.size IS NOT NULL
     ORDER BY f.id
       FOR UPDATE OF f
), first AS MATERIALIZED (
    -- The items that would store a message, each with the id it will have: its nonce's claim
    -- names it before the row exists. A file named by two items goes to the first.
    SELECT a.*, gen_random_uuid() AS id
      FROM allowed a
     WHERE a.ord NOT IN (SELECT ord FROM earlier)
       AND NOT EXISTS (SELECT 1 FROM allowed x
                        WHERE x.user_id = a.user_id AND x.nonce = a.nonce AND x.ord < a.ord)
       AND (SELECT count(*) FROM wanted w WHERE w.ord = a.ord)
           = (SELECT count(*) FROM files f
               WHERE f.ord = a.ord AND NOT EXISTS (SELECT 1 FROM files g WHERE g.id = f.id AND g.ord < f.ord))
), locked AS MATERIALIZED (
    SELECT c.id, c.last_seq, c.last_event_seq
      FROM chatchannel c
     WHERE c.id IN (SELECT channel_id FROM first)
     ORDER BY c.id
       FOR UPDATE
), claimed AS (
    -- Only for channels still there once locked, so every claim made gets its message. A
    -- claim of the last 5 minutes stands: ON CONFLICT waits for a batch claiming the same
    -- nonce to commit and then sees its claim (committed after this statement's snapshot, so
    -- `earlier` did not see its message); the item loses and returns no row. An older claim
    -- is taken over: its nonce may be used again.
    INSERT INTO chatmessage_nonce AS n (user_id, nonce, message_id)
    SELECT f.user_id, f.nonce, f.id
      FROM first f
     WHERE f.nonce IS NOT NULL
       AND f.channel_id IN (SELECT id FROM locked)
     ORDER BY f.user_id, f.nonce
    ON CONFLICT (user_id, nonce) DO UPDATE
       SET message_id = excluded.message_id, claimed_at = excluded.claimed_at
     WHERE n.claimed_at <= now() - interval '5 minutes'
    RETURNING n.message_id
), fresh AS (
    SELECT f.*, row_number() OVER (PARTITION BY f.channel_id ORDER BY f.ord) AS n
      FROM first f
     WHERE f.channel_id IN (SELECT id FROM locked)
       AND (f.nonce IS NULL OR f.id IN (SELECT message_id FROM claimed))
), bumped AS (
    -- A thread's counters change only for threads, so other channels' rows keep HOT updates.
    UPDATE chatchannel c
       SET last_seq = l.last_seq + k.n, last_event_seq = l.last_event_seq + k.n,
           message_count = c.message_count + CASE WHEN c.type = 'THREAD' THEN k.n ELSE 0 END,
           last_message_at = CASE WHEN c.type = 'THREAD' THEN clock_timestamp() ELSE c.last_message_at END,
           archived = c.archived AND c.locked
      FROM locked l
      JOIN (SELECT channel_id, count(*) AS n FROM fresh GROUP BY channel_id) k ON k.channel_id = l.id
     WHERE c.id = l.id
    RETURNING c.id, l.last_seq AS base, l.last_event_seq AS event_base, c.type, c.server_id, c.name,
              c.message_count, c.last_message_at, c.archived, c.locked
), planned AS (
    -- @everyone and @here count only from a MODERATOR or ADMIN (else they are plain text).
    SELECT f.ord, f.id, f.server_id, f.channel_id, f.user_id, f.username, f.text, f.nonce, f.reply_to_id,
           b.base + f.n AS seq, b.event_base + f.n AS event_seq, f.mention_reply, b.type = 'THREAD' AS in_thread,
           f.everyone AND COALESCE(staff.yes, false) AS mention_everyone,
           f.here AND COALESCE(staff.yes, false) AS mention_here
      FROM fresh f
      JOIN bumped b ON b.id = f.channel_id
      LEFT JOIN LATERAL (SELECT true AS yes FROM channel_reader r
                          WHERE (f.everyone OR f.here) AND r.channel_id = f.channel_id AND r.user_id = f.user_id
                            AND r.role IN ('MODERATOR', 'ADMIN')
                          LIMIT 1) staff ON true
), candidates AS MATERIALIZED (
    -- Who each stored message may mention, computed once (a CTE of its own, so it is not
    -- re-run per message), each arm an index probe per token or message whatever the plan's
    -- estimates (LIMIT keeps a lookup a probe): the users its text names (by id or by name:
    -- named_users, migration 0029), the author replied to, the members with an open socket
    -- (presence, migration 0015) for @here (in a thread, its followers with one).
    SELECT n.ord, n.user_id, 1 AS rank
      FROM named_users(:mention_ords::bigint[], :mention_ids::uuid[], :mention_names::text[]) n
    UNION ALL
    SELECT p.ord, x.user_id, 2 FROM planned p
     CROSS JOIN LATERAL (SELECT x.user_id FROM chatmessage x WHERE x.id = p.reply_to_id LIMIT 1) x
     WHERE p.mention_reply
    UNION ALL
    SELECT p.ord, r.user_id, 3 FROM planned p
     CROSS JOIN LATERAL (SELECT r.user_id FROM channel_reader r
                          WHERE p.mention_here AND r.channel_id = p.channel_id
                         OFFSET 0) r  -- kept a subquery: an index range per message
     CROSS JOIN LATERAL (SELECT 1 FROM chatd_node_user n WHERE n.user_id = r.user_id LIMIT 1) online
     -- in a thread, @here (like @everyone) is for its followers
     WHERE NOT p.in_thread
        OR EXISTS (SELECT 1 FROM thread_follower f WHERE f.thread_id = p.channel_id AND f.user_id = r.user_id)
), mentioned AS (
    -- Who each stored message mentions: readers of its channel only, once each (rank: the
    -- strongest reason).
    SELECT DISTINCT ON (p.ord, c.user_id) p.ord, p.channel_id, p.seq, c.user_id,
           (ARRAY['user', 'reply', 'here'])[c.rank] AS kind
      FROM candidates c
      JOIN planned p ON p.ord = c.ord
     CROSS JOIN LATERAL (SELECT 1 FROM channel_reader r
                          WHERE r.channel_id = p.channel_id AND r.user_id = c.user_id LIMIT 1) reader
     ORDER BY p.ord, c.user_id, c.rank
), inserted AS (
    INSERT INTO chatmessage (id, server_id, channel_id, user_id, text, seq, nonce, event_seq, reply_to_id,
                             mentions, mention_everyone, mention_here, mention_reply)
    SELECT p.id, p.server_id, p.channel_id, p.user_id, p.text, p.seq, p.nonce, p.event_seq, p.reply_to_id,
           COALESCE((SELECT array_agg(m.user_id ORDER BY m.user_id) FROM mentioned m
                      WHERE m.ord = p.ord AND m.kind = 'user'), '{}'),
           p.mention_everyone, p.mention_here, p.mention_reply
      FROM planned p
    RETURNING id, created_at, mentions
), stored AS (
    SELECT p.ord, p.id, p.server_id, p.channel_id, p.user_id, p.username, p.text, i.created_at, p.seq, p.nonce,
           p.event_seq, p.reply_to_id, i.mentions, p.mention_everyone, p.mention_here, p.mention_reply
      FROM planned p
      JOIN inserted i ON i.id = p.id
), attached AS (
    UPDATE attachment a
       SET message_id = s.id
      FROM stored s
      JOIN files f ON f.ord = s.ord
     WHERE a.id = f.id
), file_json AS (
    -- Each stored message's files, as message_attachments (migration 0022) shows them.
    SELECT f.ord, json_agg(json_build_object('id', f.id, 'filename', f.filename, 'content_type', f.content_type,
                                             'size', f.size, 'width', f.width, 'height', f.height)
                           ORDER BY f.created_at, f.id) AS attachments
      FROM files f
     WHERE f.ord IN (SELECT ord FROM stored)
     GROUP BY f.ord
), mention_rows AS (
    -- A mention counts (unread_counts) in the message's own transaction.
    INSERT INTO message_mention (channel_id, seq, user_id, kind, created_at)
    SELECT m.channel_id, m.seq, m.user_id, m.kind, s.created_at
      FROM mentioned m
      JOIN stored s ON s.ord = m.ord
     ORDER BY m.user_id, m.channel_id, m.seq
), read_own AS (
    -- Sending a message moves the sender's read pointer to it (never back: an earlier batch
    -- may have moved it further) and records it as their own last, one row per sender and
    -- channel, in key order so concurrent batches cannot deadlock on them.
    INSERT INTO read_state AS r (user_id, channel_id, last_read_seq, own_seq)
    SELECT user_id, channel_id, max(seq), max(seq)
      FROM stored
     GROUP BY user_id, channel_id
     ORDER BY user_id, channel_id
    ON CONFLICT (user_id, channel_id) DO UPDATE
       SET last_read_seq = greatest(r.last_read_seq, excluded.last_read_seq),
           own_seq = greatest(r.own_seq, excluded.own_seq), updated_at = now()
), thread_followed AS (
    -- Whoever replies in a thread follows it, from their first message of the batch, and so
    -- does everyone a message of it mentions, from just before that message (it is unread).
    INSERT INTO thread_follower (thread_id, user_id, since_seq)
    SELECT f.channel_id, f.user_id, min(f.since_seq)
      FROM (SELECT s.channel_id, s.user_id, s.seq AS since_seq FROM stored s
            UNION ALL
            SELECT s.channel_id, m.user_id, s.seq - 1 FROM mentioned m JOIN stored s ON s.ord = m.ord) f
      JOIN bumped b ON b.id = f.channel_id AND b.type = 'THREAD'
     GROUP BY f.channel_id, f.user_id
     ORDER BY f.channel_id, f.user_id
    ON CONFLICT DO NOTHING
), thread_noted AS (
    SELECT count(pg_notify(:notify_channel, json_build_object(
               'kind', 'thread_activity', 'server_id', b.server_id, 'thread_id', b.id, 'name', b.name,
               'message_count', b.message_count, 'last_message_at', b.last_message_at, 'archived', b.archived,
               'locked', b.locked)::text)) AS notes
      FROM bumped b
     WHERE b.type = 'THREAD'
), notified AS (
    SELECT count(pg_notify(:notify_channel, json_build_object(
               'kind', 'message', 'id', s.id, 'server_id', s.server_id,
               'channel_id', s.channel_id, 'user_id', s.user_id, 'username', s.username,
               'created_at', s.created_at, 'seq', s.seq, 'nonce', s.nonce, 'event_seq', s.event_seq,
               'text', CASE WHEN octet_length(to_json(s.text)::text) + 40 * cardinality(s.mentions)
                                 + coalesce(octet_length(fj.attachments::text), 0) <= 6000
                            THEN s.text END,
               'reply_to', CASE WHEN r.id IS NOT NULL THEN json_build_object(
                   'id', r.id, 'user_id', r.user_id, 'username', r.username,
                   'text', left(r.text, 200), 'deleted', r.deleted_at IS NOT NULL) END,
               'mentions', s.mentions, 'mention_everyone', s.mention_everyone, 'mention_here', s.mention_here,
               'mention_reply', s.mention_reply, 'attachments', fj.attachments
           )::text)) AS notes
      FROM (SELECT * FROM stored ORDER BY channel_id, seq) s
      LEFT JOIN file_json fj ON fj.ord = s.ord
      -- LIMIT keeps the lookup a probe of the primary key, whatever the plan estimates
      LEFT JOIN LATERAL (SELECT r.id, r.user_id, r.text, r.deleted_at, ru.username
                          FROM chatmessage r LEFT JOIN users ru ON ru.user_id = r.user_id
                         WHERE r.id = s.reply_to_id LIMIT 1) r ON true
), answered AS (
    SELECT s.ord, s.id, s.server_id, s.channel_id, s.user_id, s.username, s.text, s.created_at, s.seq, s.nonce,
           s.event_seq, s.reply_to_id, NULL::timestamptz AS edited_at, true AS created, s.mentions,
           s.mention_everyone, s.mention_here, s.mention_reply
      FROM stored s, notified, thread_noted
    UNION ALL
    SELECT ord, id, server_id, channel_id, user_id, username, text, created_at, seq, nonce, event_seq,
           reply_to_id, edited_at, false, mentions, mention_everyone, mention_here, mention_reply
      FROM earlier
    UNION ALL
    SELECT a.ord, s.id, s.server_id, s.channel_id, s.user_id, s.username, s.text, s.created_at, s.seq, s.nonce,
           s.event_seq, s.reply_to_id, NULL, false, s.mentions, s.mention_everyone,
           s.mention_here, s.mention_reply
      FROM allowed a
      JOIN stored s ON s.user_id = a.user_id AND s.nonce = a.nonce AND s.ord < a.ord
)
-- The answers carry what they reply to and their files, as history shows them.
SELECT a.*, r.user_id AS reply_user_id, r.username AS reply_username,
       left(r.text, 200) AS reply_text, r.deleted_at IS NOT NULL AS reply_deleted,
       CASE WHEN a.created THEN (SELECT fj.attachments FROM file_json fj WHERE fj.ord = a.ord)
            ELSE message_attachments(a.id) END AS attachments
  FROM answered a
  LEFT JOIN LATERAL (SELECT r.id, r.user_id, r.text, r.deleted_at, ru.username
                      FROM chatmessage r LEFT JOIN users ru ON ru.user_id = r.user_id
                     WHERE r.id = a.reply_to_id LIMIT 1) r ON true;

-- name: delete_expired_nonce_claims()!
-- A claim older than the 5 minutes a nonce repeats within stands for nothing (the claim in
-- insert_message_batch would take it over). Each chatd process deletes them once a minute
-- (chatd.ops.nonces), so the table holds about 5 minutes of nonces: read sequentially, as one
-- more index to keep up on every send would cost more than this scan once a minute. A claim
-- taken over meanwhile is fresh again when this reaches it, and stays.
DELETE FROM chatmessage_nonce
 WHERE claimed_at <= now() - interval '5 minutes';

-- name: get_message(message_id)^
-- A message whose text was too long to travel in its notification.
SELECT * FROM message_row WHERE id = :message_id;

-- name: list_message_notes_after_seq(channel_id, after_seq, lim)
-- The original resume: the messages a client missed, in seq order (the unique (channel_id,
-- seq) index), as message_row's columns with their files (chatd.domain.notes.message_note
-- makes each its note, as list_changes_after's); deleted ones are not history.
SELECT m.event_seq, m.id, m.server_id, m.channel_id, m.user_id, m.username, m.text, m.created_at, m.seq, m.nonce,
       m.reply_to_id, m.reply_user_id, m.reply_username, m.reply_text, m.reply_deleted, m.mentions,
       m.mention_everyone, m.mention_here, m.mention_reply, f.attachments
  FROM message_row m
  LEFT JOIN LATERAL (SELECT f.attachments FROM message_files f WHERE f.message_id = m.id LIMIT 1) f ON true  -- a probe each
 WHERE m.channel_id = :channel_id
   AND m.seq > :after_seq
   AND m.deleted_at IS NULL
 ORDER BY m.seq
 LIMIT :lim;

-- History pages. Each reads, in its one snapshot, the page, each message's reactions as the
-- caller sees them (reaction_summary), and the channel's last_event_seq: the point of the
-- change stream the page shows, from which a client resumes.

-- name: list_messages_after_seq(channel_id, after_seq, lim, user_id)
-- REST's after_seq: the oldest `lim` messages after a seq.
SELECT m.*, reaction_summary(m.channel_id, m.id, :user_id) AS reactions, message_attachments(m.id) AS attachments,
       (SELECT last_event_seq FROM chatchannel WHERE id = :channel_id) AS channel_event_seq
  FROM message_row m
 WHERE m.channel_id = :channel_id
   AND m.seq > :after_seq
   AND m.deleted_at IS NULL
 ORDER BY m.seq
 LIMIT :lim;

-- name: list_messages_page(channel_id, lim, skip, user_id)
-- The newest messages after skipping `skip`, returned oldest first so a client can append
-- them as they are. Reads ix_chatmessage_channel_id_created_at_id backwards.
SELECT page.*, reaction_summary(page.channel_id, page.id, :user_id) AS reactions,
       message_attachments(page.id) AS attachments, (SELECT last_event_seq FROM chatchannel WHERE id = :channel_id) AS channel_event_seq
  FROM (
    SELECT *
      FROM message_row m
     WHERE m.channel_id = :channel_id
       AND m.deleted_at IS NULL
     ORDER BY m.created_at DESC, m.id DESC
     LIMIT :lim OFFSET :skip
) page
ORDER BY page.created_at, page.id;

-- name: list_messages_before(channel_id, before_id, lim, skip, user_id)
-- Keyset paging: deep history stays an index range scan, unlike OFFSET. The anchor comes in
-- as scalar subqueries so the row comparison is an index condition on
-- (channel_id, created_at, id), not a filter over every newer message. A `before` id that is
-- not a message of this channel compares with NULL: no rows.
SELECT page.*, reaction_summary(page.channel_id, page.id, :user_id) AS reactions,
       message_attachments(page.id) AS attachments, (SELECT last_event_seq FROM chatchannel WHERE id = :channel_id) AS channel_event_seq
  FROM (
    SELECT *
      FROM message_row m
     WHERE m.channel_id = :channel_id
       AND m.deleted_at IS NULL
       AND (m.created_at, m.id) < (
               (SELECT a.created_at FROM chatmessage a WHERE a.id = :before_id AND a.channel_id = :channel_id),
               :before_id::uuid)
     ORDER BY m.created_at DESC, m.id DESC
     LIMIT :lim OFFSET :skip
) page
ORDER BY page.created_at, page.id;

-- name: message_exists_in_channel(message_id, channel_id)$
SELECT EXISTS (SELECT 1 FROM chatmessage WHERE id = :message_id AND channel_id = :channel_id);

-- name: live_message_in_channel(message_id, channel_id)$
-- A message of this channel that is not deleted (what a reply may name).
SELECT EXISTS (SELECT 1 FROM chatmessage
                WHERE id = :message_id AND channel_id = :channel_id AND deleted_at IS NULL);
