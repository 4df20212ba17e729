CREATE OR REPLACE FUNCTION message_attachments(message uuid) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_agg(json_build_object('id', a.id, 'filename', a.filename, 'content_type', a.content_type,
                                      'size', a.size, 'width', a.width, 'height', a.height)
                    ORDER BY a.created_at, a.id)
      FROM attachment a
     WHERE a.message_id = message
$$;
DROP VIEW message_files;
