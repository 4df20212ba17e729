DROP TABLE servermembership;
DROP TABLE chatmessage;
DROP TABLE chatchannel;
DROP TABLE chatserver;
DROP TABLE users;
