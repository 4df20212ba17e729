DROP FUNCTION message_attachments(uuid);
DROP TRIGGER user_attachments_dropped ON users;
DROP FUNCTION drop_user_attachments();
DROP TRIGGER message_attachments_dropped ON chatmessage;
DROP FUNCTION drop_message_attachments();
DROP TABLE attachment;
DROP FUNCTION trash_attachment();
DROP TABLE attachment_trash;
