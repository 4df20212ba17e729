-- depends: 0024_threads
-- A message's files as one row per message that has any: a read of many messages (resume,
-- history) joins this view, each message an index probe, where a call of message_attachments
-- per row started an executor each time (a SQL function with an aggregate is not inlined):
-- that call was a third of a replayed message's read. message_attachments reads the view, so
-- the files' shape is written once.
CREATE VIEW message_files AS
SELECT a.message_id,
       json_agg(json_build_object('id', a.id, 'filename', a.filename, 'content_type', a.content_type,
                                  'size', a.size, 'width', a.width, 'height', a.height)
                ORDER BY a.created_at, a.id) AS attachments
  FROM attachment a
 WHERE a.message_id IS NOT NULL
 GROUP BY a.message_id;

CREATE OR REPLACE FUNCTION message_attachments(message uuid) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT f.attachments FROM message_files f WHERE f.message_id = message
$$;
