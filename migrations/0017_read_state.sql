-- depends: 0014_direct_messages
-- Read state: one pointer per user and channel (the seq read up to), never a row per message,
-- so marking a million messages read writes one row. Counts are computed when read, each term
-- a range of an index (read_pointer and unread_counts below):
--   unread = (channel.last_seq - pointer) - the reader's own messages above the pointer
--            - others' deleted messages above the pointer
--   mentions = the reader's direct mentions above the pointer (live, by others)
--            + @everyone messages above the pointer (live, by others, not also a direct mention)
-- A channel never acked (or acked during an earlier membership) counts from when the reader
-- joined it, not from its first message.
CREATE TABLE read_state (
    user_id       uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    channel_id    uuid NOT NULL REFERENCES chatchannel (id) ON DELETE CASCADE,
    last_read_seq bigint NOT NULL CHECK (last_read_seq >= 0),
    -- The reader's own last message in the channel (NULL: none since this table exists): their
    -- own messages above the pointer are looked for only when it is above (after a "mark unread").
    own_seq       bigint,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel_id)
);
-- Deleting a channel (or its server) deletes its pointers through this.
CREATE INDEX ix_read_state_channel_id ON read_state (channel_id);

-- Who a message mentions directly (<@id>, @username): a row per mentioned user, written by the
-- send in the message's transaction. @everyone is one flag on the message, never a row per member.
CREATE TABLE message_mention (
    channel_id uuid NOT NULL,
    seq        bigint NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, channel_id, seq),
    FOREIGN KEY (channel_id, seq) REFERENCES chatmessage (channel_id, seq) ON DELETE CASCADE
);
-- The mentions of one message (and the cascade from it).
CREATE INDEX ix_message_mention_channel_id_seq ON message_mention (channel_id, seq);

ALTER TABLE chatmessage ADD COLUMN mention_everyone boolean NOT NULL DEFAULT false;

-- The indexes the counts read. The partial index is empty of what a send inserts (a message is
-- not deleted when stored; @everyone is rare), so inserts maintain as many indexes as before:
-- the author index grows columns instead of being joined by another.
-- Deleted and @everyone messages of a channel by seq: both terms from one range, index only.
CREATE INDEX ix_chatmessage_notable ON chatmessage (channel_id, seq) INCLUDE (user_id, deleted_at, mention_everyone)
    WHERE deleted_at IS NOT NULL OR mention_everyone;
-- A reader's own messages of a channel above a seq; still every lookup by author (account
-- deletion, the product spec's "active users") on its first column.
CREATE INDEX ix_chatmessage_user_id_channel_id_seq ON chatmessage (user_id, channel_id, seq);
DROP INDEX ix_chatmessage_user_id;

-- Messages sent before this migration moved no pointer: as if each sender's last one had.
INSERT INTO read_state (user_id, channel_id, last_read_seq, own_seq)
SELECT user_id, channel_id, max(seq), max(seq)
  FROM chatmessage
 GROUP BY user_id, channel_id;

-- channel_reader also says since when each reader reads the channel: where a channel never
-- acked starts counting.
CREATE OR REPLACE VIEW channel_reader AS
SELECT c.id AS channel_id, c.server_id, m.user_id, m.role, m.joined_at AS since
  FROM chatchannel c
  JOIN servermembership m ON m.server_id = c.server_id
UNION ALL
SELECT r.channel_id, NULL::uuid AS server_id, r.user_id, 'MEMBER'::text AS role, r.added_at AS since
  FROM dm_recipient r;

-- Where a reader's pointer is: what they stored (`stored`, at `stored_at`), unless it was stored
-- before they last joined (`since`; a pointer of an earlier membership) or never: then the last
-- message sent before they joined (the end of the (channel_id, created_at, id) index range up to
-- `since`), or 0. A set-returning SQL function, so the planner inlines it into the calling
-- statement; OFFSET 0 keeps it a subquery evaluated once per row, not once per use of `pointer`.
CREATE FUNCTION read_pointer(channel uuid, since timestamptz, stored bigint, stored_at timestamptz)
RETURNS TABLE (pointer bigint) LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN stored_at >= since THEN stored
                ELSE COALESCE((SELECT m.seq FROM chatmessage m
                                WHERE m.channel_id = channel AND m.created_at <= since
                                ORDER BY m.created_at DESC, m.id DESC
                                LIMIT 1), 0)
           END
    OFFSET 0
$$;

-- The unread and mention counts of a reader's channel above `pointer` (`last`: the channel's
-- last_seq; `own`: read_state.own_seq), each term an index range: the reader's own messages
-- (only when they have one above the pointer), the deleted and @everyone messages (one range),
-- the direct mentions. Nothing is read when nothing is unread. Inlined like read_pointer.
CREATE FUNCTION unread_counts(reader uuid, channel uuid, pointer bigint, last bigint, own bigint)
RETURNS TABLE (unread_count bigint, mention_count bigint) LANGUAGE sql STABLE AS $$
    SELECT greatest(last - pointer, 0) - mine.n - notable.deleted, direct.n + notable.everyone
      FROM (SELECT count(*) AS n FROM chatmessage m
             WHERE own > pointer AND m.user_id = reader AND m.channel_id = channel AND m.seq > pointer) mine,
           (SELECT count(*) FILTER (WHERE m.deleted_at IS NOT NULL AND m.user_id <> reader) AS deleted,
                   count(*) FILTER (WHERE m.deleted_at IS NULL AND m.mention_everyone AND m.user_id <> reader
                                      AND NOT EXISTS (SELECT 1 FROM message_mention x
                                                       WHERE x.user_id = reader AND x.channel_id = channel
                                                         AND x.seq = m.seq)) AS everyone
              FROM chatmessage m
             WHERE last > pointer AND m.channel_id = channel AND m.seq > pointer
               AND (m.deleted_at IS NOT NULL OR m.mention_everyone)) notable,
           (SELECT count(*) AS n FROM message_mention x
              JOIN chatmessage m ON m.channel_id = x.channel_id AND m.seq = x.seq
             WHERE last > pointer AND x.user_id = reader AND x.channel_id = channel AND x.seq > pointer
               AND m.deleted_at IS NULL AND m.user_id <> reader) direct
$$;

-- Every channel each reader reads that takes messages, with their pointer and counts: what
-- GET /chat/unreads and `connected` list (a statement filters it by user_id).
CREATE VIEW channel_unread AS
SELECT r.user_id, r.server_id, c.id AS channel_id, c.position, p.pointer AS last_read_seq, c.last_seq,
       u.unread_count, u.mention_count
  FROM channel_reader r
  JOIN chatchannel c ON c.id = r.channel_id
  LEFT JOIN read_state s ON s.user_id = r.user_id AND s.channel_id = c.id
 CROSS JOIN LATERAL read_pointer(c.id, r.since, s.last_read_seq, s.updated_at) p
 CROSS JOIN LATERAL unread_counts(r.user_id, c.id, p.pointer, c.last_seq, s.own_seq) u
 WHERE c.type <> 'VOICE';
