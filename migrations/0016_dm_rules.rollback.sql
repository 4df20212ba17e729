DROP FUNCTION dm_json(uuid);
DROP FUNCTION last_message_at(uuid);
DROP FUNCTION blocked_between(uuid, uuid);
DROP FUNCTION share_a_server(uuid, uuid);
