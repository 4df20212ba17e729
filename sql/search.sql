-- Full-text search of messages (migration 0018): each message's search_vector, in the text
-- search configuration search_language() names, matched by websearch_to_tsquery.

-- name: set_search_language(language)$
-- CHATD_SEARCH_LANGUAGE, at startup: true when it differs from the configuration the messages
-- were indexed with (it is stored then, and reindex_search follows). An unknown configuration
-- fails the cast.
WITH changed AS (
    UPDATE search_setting
       SET language = :language::regconfig
     WHERE language <> :language::regconfig
    RETURNING 1
)
SELECT count(*) > 0 FROM changed;

-- name: reindex_search()$
-- Every message's tsvector again, after the language changed: how many.
WITH redone AS (
    UPDATE chatmessage
       SET search_vector = to_tsvector(search_language(), text)
    RETURNING 1
)
SELECT count(*) FROM redone;

-- name: search_messages(user_id, q, language, server_id, channel_id, author_id, has_link, has_attachment, has_mention, after, before, by_relevance, cursor_rank, cursor_created_at, cursor_id, lim)
-- The caller's page of messages matching `q`, newest first or (by_relevance) best first, among
-- the live messages of the channels the caller reads now (channel_reader: so a member removed,
-- banned or gone from a DM finds nothing there at once), with the optional filters (NULL or
-- false: none). Keyset paging: the cursor is the last result's (rank, created_at, id); rank is
-- 0 when sorting by time. The snippet is made for the page only, from the text HTML-escaped
-- (ts_headline would drop what looks like a tag), each match between U+E000 and U+E001
-- (removed from the text first), which chatd.domain.search turns into <mark> and </mark>.
-- Newest first, a probe of the GIN index takes at most 1,000 matches of the term, in any
-- channel, and picks one of two ways; each way runs only if its gate, a subquery without
-- parameters, lets it (EXPLAIN ANALYZE shows the other "never executed"). Fewer than 1,000 (a
-- rare term): the probe holds every match, which are filtered, sorted and paged; the cost grows
-- with the matches. Otherwise (a common term): each readable channel is walked from its newest
-- message (ix_chatmessage_channel_id_created_at_id, backward) until it gives a page of matches,
-- and the pages are merged, so the newer messages of channels the caller does not read are
-- never read (a walk of ix_chatmessage_created_at read them all: seconds behind other servers'
-- traffic). By relevance every match is ranked anyway: one read of the GIN index, each match's
-- channel looked up in the readable ones (`IN ... IS TRUE` keeps that a hashed filter, not a
-- read of the GIN index per channel). Each way is planned on its own, so each spells the
-- filters out. The probe is search_probe (migration 0033), whose plan reads the GIN index
-- whatever the planner would guess (left to it, the probe read the whole table for a rare term
-- in a full bench run). The walk takes the tsquery from a subquery, computed once, so the
-- planner guesses nothing about the term. The walk's match is
-- one CASE, which no index answers and which the planner gives even odds: it expects a page
-- within a channel's newest hundred messages and so walks the index (a generic plan multiplied
-- each filter's guess into "no match" and read whole channels to sort them). Its channel is
-- `= ANY` and leads the ORDER BY, so that no plan walks ix_chatmessage_created_at filtered by
-- channel; its page is 51, the largest one (50 results and one to say there are more), a
-- constant for the same reason. By relevance the tsquery is written out where it is used, with
-- the language as a parameter (the one search_ctx stored at startup), not read from a CTE or
-- search_language(): the planner folds it into a constant, never parsing it once per row.
WITH readable AS MATERIALIZED (
    SELECT r.channel_id
      FROM channel_reader r
     WHERE r.user_id = :user_id
       AND (:server_id::uuid IS NULL OR r.server_id = :server_id)
       AND (:channel_id::uuid IS NULL OR r.channel_id = :channel_id)
), probe AS MATERIALIZED (
    SELECT p.id
      FROM search_probe((SELECT websearch_to_tsquery(:language::regconfig, :q)), 1000) AS p(id)
     WHERE NOT :by_relevance
), found AS (
    (SELECT m.id, m.created_at, 0::real AS rank
       FROM probe p
       JOIN chatmessage m ON m.id = p.id
      WHERE (SELECT count(*) FROM probe) < 1000
        AND m.channel_id IN (SELECT channel_id FROM readable)
        AND (:author_id::uuid IS NULL OR m.user_id = :author_id)
        AND (NOT :has_link OR m.text ~* 'https?://')
        AND (NOT :has_attachment OR EXISTS (SELECT 1 FROM attachment a WHERE a.message_id = m.id))
        AND (NOT :has_mention OR m.mention_everyone
             OR EXISTS (SELECT 1 FROM message_mention x WHERE x.channel_id = m.channel_id AND x.seq = m.seq))
        AND (:after::timestamptz IS NULL OR m.created_at > :after)
        AND (:before::timestamptz IS NULL OR m.created_at < :before)
        AND (:cursor_id::uuid IS NULL
             OR (m.created_at, m.id) < (:cursor_created_at::timestamptz, :cursor_id::uuid))
      ORDER BY m.created_at DESC, m.id DESC
      LIMIT :lim)
    UNION ALL
    (SELECT w.id, w.created_at, 0
       FROM readable c
      CROSS JOIN LATERAL (
            SELECT m.id, m.created_at
              FROM chatmessage m
             WHERE m.channel_id = ANY (ARRAY[c.channel_id])
               AND m.deleted_at IS NULL
               AND CASE WHEN m.search_vector @@ (SELECT websearch_to_tsquery(:language::regconfig, :q))
                             AND (:author_id::uuid IS NULL OR m.user_id = :author_id)
                             AND (NOT :has_link OR m.text ~* 'https?://')
                             AND (NOT :has_attachment OR EXISTS (SELECT 1 FROM attachment a WHERE a.message_id = m.id))
                             AND (NOT :has_mention OR m.mention_everyone
                                  OR EXISTS (SELECT 1 FROM message_mention x
                                              WHERE x.channel_id = m.channel_id AND x.seq = m.seq))
                             AND (:after::timestamptz IS NULL OR m.created_at > :after)
                             AND (:before::timestamptz IS NULL OR m.created_at < :before)
                             AND (:cursor_id::uuid IS NULL
                                  OR (m.created_at, m.id) < (:cursor_created_at::timestamptz, :cursor_id::uuid))
                        THEN true ELSE false END
             ORDER BY m.channel_id DESC, m.created_at DESC, m.id DESC
             LIMIT 51) w
      WHERE (SELECT count(*) FROM probe) >= 1000
      ORDER BY w.created_at DESC, w.id DESC
      LIMIT :lim)
    UNION ALL
    (SELECT m.id, m.created_at, ts_rank(m.search_vector, websearch_to_tsquery(:language::regconfig, :q))
       FROM chatmessage m
      WHERE :by_relevance
        AND m.search_vector @@ websearch_to_tsquery(:language::regconfig, :q)
        AND m.deleted_at IS NULL
        AND (m.channel_id IN (SELECT channel_id FROM readable)) IS TRUE
        AND (:author_id::uuid IS NULL OR m.user_id = :author_id)
        AND (NOT :has_link OR m.text ~* 'https?://')
        AND (NOT :has_attachment OR EXISTS (SELECT 1 FROM attachment a WHERE a.message_id = m.id))
        AND (NOT :has_mention OR m.mention_everyone
             OR EXISTS (SELECT 1 FROM message_mention x WHERE x.channel_id = m.channel_id AND x.seq = m.seq))
        AND (:after::timestamptz IS NULL OR m.created_at > :after)
        AND (:before::timestamptz IS NULL OR m.created_at < :before)
        AND (:cursor_id::uuid IS NULL
             OR (ts_rank(m.search_vector, websearch_to_tsquery(:language::regconfig, :q)), m.created_at, m.id)
                < (:cursor_rank::real, :cursor_created_at::timestamptz, :cursor_id::uuid))
      ORDER BY 3 DESC, m.created_at DESC, m.id DESC
      LIMIT :lim)
)
SELECT m.*, f.rank, reaction_summary(m.channel_id, m.id, :user_id) AS reactions,
       message_attachments(m.id) AS attachments,
       ts_headline(:language::regconfig,
                   replace(replace(replace(replace(replace(translate(m.text, chr(57344) || chr(57345), ''),
                                                           '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                                   '"', '&quot;'), '''', '&#x27;'),
                   websearch_to_tsquery(:language::regconfig, :q),
                   'StartSel=' || chr(57344) || ', StopSel=' || chr(57345) || ', MaxWords=35, MinWords=15')
           AS snippet
  FROM found f
  JOIN message_row m ON m.id = f.id
 ORDER BY f.rank DESC, f.created_at DESC, f.id DESC;

-- name: get_reader_server(channel_id, user_id)^
-- Whether the caller reads a channel (a search filter names it): its server (NULL: a DM).
SELECT server_id FROM channel_reader WHERE channel_id = :channel_id AND user_id = :user_id;
