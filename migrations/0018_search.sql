-- depends: 0014_direct_messages
-- Full-text search of messages with PostgreSQL's own text search: each message's tsvector,
-- kept by a trigger for every writer (sends, edits, deletions, COPY), so a message is
-- searchable in the transaction that stores it; a GIN index over live messages. The text
-- search configuration (CHATD_SEARCH_LANGUAGE) is kept in the database, where the trigger and
-- the queries read it, so every process and every writer use the same one.
CREATE TABLE search_setting (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    language regconfig NOT NULL DEFAULT 'simple'
);
INSERT INTO search_setting DEFAULT VALUES;

CREATE FUNCTION search_language() RETURNS regconfig
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT language FROM search_setting $$;

CREATE FUNCTION chatmessage_search_vector() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.search_vector := to_tsvector(search_language(), NEW.text);
    RETURN NEW;
END
$$;

ALTER TABLE chatmessage ADD COLUMN search_vector tsvector;
UPDATE chatmessage SET search_vector = to_tsvector('simple', text);
CREATE TRIGGER chatmessage_search_vector BEFORE INSERT OR UPDATE OF text ON chatmessage
    FOR EACH ROW EXECUTE FUNCTION chatmessage_search_vector();
-- Newest first, the planner either walks messages from the newest (a common term: a page is
-- found in the first few hundred) or reads the GIN index (a rare one), by how common it thinks
-- the term is: a larger sample of the words' frequencies keeps rare terms from being taken
-- for common ones (a rare term read from the newest walks the whole table).
ALTER TABLE chatmessage ALTER COLUMN search_vector SET STATISTICS 1000;
-- Deleted messages are never found (their text is gone too): the index holds live ones only.
CREATE INDEX ix_chatmessage_search_vector ON chatmessage USING gin (search_vector) WHERE deleted_at IS NULL;
