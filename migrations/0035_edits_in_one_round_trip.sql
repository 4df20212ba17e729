-- depends: 0034_unread_expressions
-- An edit in one round trip. A change's statement needs its channels' locks taken before it
-- starts (sql/changes.sql lock_channels_for_changes): in READ COMMITTED a statement reads the
-- snapshot it started with, so only a statement that starts after the lock sees every change
-- committed before it. That took a transaction of four round trips (begin, lock, statement,
-- commit), each waiting for a turn of an event loop busy with fan-out: under load an edit
-- reached its readers about three times later than a message sent at the same rate. A
-- PL/pgSQL function runs each of its statements with a fresh snapshot: make_edits takes the
-- locks, then runs the edit statement, and is called on its own (chatd.domain.changes,
-- ChangeKind.locks_itself): one round trip, its commit included. Called inside a transaction
-- that holds the locks already, taking them again changes nothing.
-- The time it stamps (`stamped`) is read once the locks are granted (statement_timestamp()
-- inside a function is its caller's start), so edits of a message are stamped in the order they
-- were made. Edits name their server (NULL: a conversation): a pair whose channel is not that
-- server's is neither locked nor edited.
--
-- The edit statement, moved here from sql/edits.sql (whose edit_messages calls this function):
-- Each message with its new text, whether it changed, and its reactions as its author sees
-- them. The edit rule (permissions.check_edit) is checked here, holding the channel's lock, so
-- it holds at the moment of the edit and costs no query of its own: the editor reads the
-- channel (channel_reader) and wrote the message, which is not deleted and, with a window
-- (CHATD_EDIT_WINDOW; NULL: none), no older than it. An edit refused, or of a message deleted
-- or gone, has no row (permissions.require_edit says why; tests/test_permissions.py checks
-- that the two agree). At most one edit of a message per statement. The same text changes
-- nothing and takes no event_seq. The version replaced is kept in message_edit. A text too
-- long for NOTIFY travels in message_change only (record_changes).
-- A changed text's mentions are resolved again, as a send resolves them (insert_message_batch):
-- message_mention follows the current text (a reply keeps mentioning its author, @here keeps
-- those it mentioned and, newly said, mentions who has a socket open now), and the note names
-- those mentioned newly (`notify`, `notify_everyone`, `notify_here`): only they hear of it.
CREATE TYPE edited_message AS (
    ord bigint, id uuid, server_id uuid, channel_id uuid, user_id uuid, username text, text text,
    created_at timestamptz, seq bigint, event_seq bigint, edited_at timestamptz, reply_to_id uuid,
    reply_user_id uuid, reply_username text, reply_text text, reply_deleted boolean, thread_id uuid,
    thread_name text, thread_message_count bigint, thread_last_message_at timestamptz, changed boolean,
    mentions uuid[], mention_everyone boolean, reactions json, attachments json
);

CREATE FUNCTION make_edits(notify_channel text, ords bigint[], server_ids uuid[], channel_ids uuid[],
                           message_ids uuid[], texts text[], user_ids uuid[], windows interval[],
                           everyones boolean[], heres boolean[], mention_ords bigint[], mention_ids uuid[],
                           mention_names text[])
RETURNS SETOF edited_message LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    stamped timestamptz;
BEGIN
    -- In id order, as lock_channels_for_changes takes them: concurrent batches cannot deadlock.
    PERFORM 1
       FROM chatchannel c
      WHERE c.id = any(channel_ids)
        AND EXISTS (SELECT 1 FROM unnest(server_ids, channel_ids) AS b(server_id, channel_id)
                     WHERE b.channel_id = c.id AND b.server_id IS NOT DISTINCT FROM c.server_id)
      ORDER BY c.id
        FOR NO KEY UPDATE;
    stamped := clock_timestamp();
    RETURN QUERY
        WITH target AS (
            SELECT b.ord, b.text AS new_text, b.everyone, b.here, m.id, m.server_id, m.channel_id, m.user_id,
                   m.username, m.text, m.created_at, m.seq, m.event_seq, m.edited_at, m.reply_to_id, m.reply_user_id,
                   m.reply_username, m.reply_text, m.reply_deleted, m.mentions, m.mention_everyone, m.mention_here,
                   m.mention_reply, reader.role, m.thread_id, m.thread_name, m.thread_message_count, m.thread_last_message_at
              FROM unnest(ords, server_ids, channel_ids, message_ids, texts, user_ids, windows, everyones, heres)
                   AS b(ord, server_id, channel_id, message_id, text, user_id, max_age, everyone, here)
              JOIN message_row m ON m.id = b.message_id AND m.channel_id = b.channel_id
                                AND m.server_id IS NOT DISTINCT FROM b.server_id
              -- LIMIT keeps this a probe of the indexes per edit, not a hash of every membership
              CROSS JOIN LATERAL (SELECT r.role FROM channel_reader r
                                   WHERE r.channel_id = b.channel_id AND r.user_id = b.user_id LIMIT 1) reader
             WHERE m.deleted_at IS NULL
               AND m.user_id = b.user_id
               AND (b.max_age IS NULL OR stamped - m.created_at <= b.max_age)
        ), changing AS (
            SELECT t.*, t.everyone AND t.role IN ('MODERATOR', 'ADMIN') AS new_everyone,
                   t.here AND t.role IN ('MODERATOR', 'ADMIN') AS new_here
              FROM target t
             WHERE t.text <> t.new_text
        ), candidates AS MATERIALIZED (
            -- Computed once, each arm an index probe per token or edit whatever the plan's estimates,
            -- as insert_message_batch's.
            SELECT n.ord, n.user_id, 1 AS rank
              FROM named_users(mention_ords, mention_ids, mention_names) n
            UNION ALL
            SELECT c.ord, c.reply_user_id, 2 FROM changing c WHERE c.mention_reply AND c.reply_user_id IS NOT NULL
            UNION ALL
            SELECT c.ord, x.user_id, 3 FROM changing c
              JOIN message_mention x ON x.channel_id = c.channel_id AND x.seq = c.seq AND x.kind = 'here'
             WHERE c.new_here AND c.mention_here
            UNION ALL
            SELECT c.ord, r.user_id, 3 FROM changing c
             CROSS JOIN LATERAL (SELECT r.user_id FROM channel_reader r
                                  WHERE c.new_here AND NOT c.mention_here AND r.channel_id = c.channel_id
                                 OFFSET 0) r
             CROSS JOIN LATERAL (SELECT 1 FROM chatd_node_user n WHERE n.user_id = r.user_id LIMIT 1) online
             -- in a thread, @here (like @everyone) is for its followers, as in insert_message_batch
             WHERE NOT EXISTS (SELECT 1 FROM chatchannel t WHERE t.id = c.channel_id AND t.type = 'THREAD')
                OR EXISTS (SELECT 1 FROM thread_follower f WHERE f.thread_id = c.channel_id AND f.user_id = r.user_id)
        ), wanted AS (
            SELECT DISTINCT ON (c.ord, w.user_id) c.ord, c.channel_id, c.seq, c.created_at, w.user_id,
                   (ARRAY['user', 'reply', 'here'])[w.rank] AS kind
              FROM candidates w
              JOIN changing c ON c.ord = w.ord
             CROSS JOIN LATERAL (SELECT 1 FROM channel_reader r
                                  WHERE r.channel_id = c.channel_id AND r.user_id = w.user_id LIMIT 1) reader
             ORDER BY c.ord, w.user_id, w.rank
        ), unmentioned AS (
            DELETE FROM message_mention x
             USING changing c
             WHERE x.channel_id = c.channel_id AND x.seq = c.seq
               AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.ord = c.ord AND w.user_id = x.user_id)
        ), added AS (
            INSERT INTO message_mention (channel_id, seq, user_id, kind, created_at)
            SELECT channel_id, seq, user_id, kind, created_at FROM wanted ORDER BY user_id, channel_id, seq
            ON CONFLICT DO NOTHING
            RETURNING channel_id, seq, user_id, kind
        ), followed AS (
            -- In a thread, whom an edit names newly follows it, as whom a message names does
            -- (insert_message_batch's thread_followed): from just before the message.
            INSERT INTO thread_follower (thread_id, user_id, since_seq)
            SELECT a.channel_id, a.user_id, a.seq - 1
              FROM added a
              JOIN chatchannel c ON c.id = a.channel_id AND c.type = 'THREAD'
             WHERE a.kind = 'user'
             ORDER BY a.channel_id, a.user_id
            ON CONFLICT DO NOTHING
        ), edited AS (
            UPDATE chatmessage m
               SET text = c.new_text, edited_at = stamped,
                   mentions = COALESCE((SELECT array_agg(w.user_id ORDER BY w.user_id) FROM wanted w
                                         WHERE w.ord = c.ord AND w.kind = 'user'), '{}'),
                   mention_everyone = c.new_everyone, mention_here = c.new_here
              FROM changing c
             WHERE m.id = c.id
            RETURNING m.id, m.text, m.edited_at, m.mentions, m.mention_everyone, m.mention_here
        ), kept AS (
            INSERT INTO message_edit (channel_id, message_id, replaced_at, written_at, text)
            SELECT t.channel_id, t.id, e.edited_at, COALESCE(t.edited_at, t.created_at), t.text
              FROM target t
              JOIN edited e ON e.id = t.id
        ), recorded AS (
            SELECT record_changes(notify_channel, array_agg(t.channel_id ORDER BY t.ord), array_agg(e.id ORDER BY t.ord),
                                  array_agg(jsonb_build_object(
                                      'kind', 'message_updated', 'id', e.id, 'text', e.text, 'edited_at', e.edited_at,
                                      'user_id', t.user_id, 'username', t.username,
                                      'mentions', e.mentions, 'mention_everyone', e.mention_everyone,
                                      'notify', COALESCE(n.ids, '{}'),
                                      'notify_everyone', e.mention_everyone AND NOT t.mention_everyone,
                                      'notify_here', e.mention_here AND NOT t.mention_here) ORDER BY t.ord)) AS changes
              FROM target t
              JOIN edited e ON e.id = t.id
              LEFT JOIN (SELECT a.channel_id, a.seq, array_agg(a.user_id ORDER BY a.user_id) AS ids FROM added a
                          WHERE a.kind = 'user' GROUP BY a.channel_id, a.seq) n ON n.channel_id = t.channel_id AND n.seq = t.seq
        )
        SELECT t.ord, t.id, t.server_id, t.channel_id, t.user_id, t.username, COALESCE(e.text, t.text) AS text,
               t.created_at, t.seq, t.event_seq, COALESCE(e.edited_at, t.edited_at) AS edited_at, t.reply_to_id,
               t.reply_user_id, t.reply_username, t.reply_text, t.reply_deleted, t.thread_id, t.thread_name,
               t.thread_message_count, t.thread_last_message_at, e.id IS NOT NULL AS changed,
               COALESCE(e.mentions, t.mentions) AS mentions, COALESCE(e.mention_everyone, t.mention_everyone) AS mention_everyone,
               reaction_summary(t.channel_id, t.id, t.user_id) AS reactions, message_attachments(t.id) AS attachments
          FROM target t
          LEFT JOIN edited e ON e.id = t.id, recorded;
END
$$;
