-- depends: 0032_unread_memo
-- Search's probe (sql/search.sql search_messages): at most `lim` live messages matching
-- `query`, in any channel, always read from the GIN index. Written in the statement, the
-- probe's plan was the planner's choice, and in a full bench run (a table of millions of rows,
-- the index's pending list grown by the sends before) it chose to read the table until it had
-- `lim` matches: for a rare term, the whole table (0.7 s). A function's SET applies to its own
-- plan only, and keeps it from being inlined into the statement: enable_seqscan off leaves the
-- GIN index as the only way, which costs what the matches cost, rare term or common.
-- ROWS: what the planner expects of it, not the 1,000 it assumes of a function, which made it
-- join the probe to the messages by reading all of them (a search's terms are mostly rare).
CREATE FUNCTION search_probe(query tsquery, lim integer) RETURNS SETOF uuid
LANGUAGE sql STABLE ROWS 50
SET enable_seqscan = off
AS $$
    SELECT m.id FROM chatmessage m WHERE m.search_vector @@ query AND m.deleted_at IS NULL LIMIT lim
$$;
