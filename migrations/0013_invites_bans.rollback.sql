DROP TABLE server_ban;
DROP FUNCTION invite_open(server_invite);
DROP TABLE server_invite;
