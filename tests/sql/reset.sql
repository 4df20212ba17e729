-- name: reset_tables()!
-- Each test starts from empty tables; cheaper than a database per test.
TRUNCATE users, chatserver, chatchannel, chatmessage, chatmessage_nonce, servermembership, chatd_node, chatd_node_user, login_failure, attachment_trash CASCADE;
