DROP FUNCTION record_change(text, uuid, uuid, jsonb);
