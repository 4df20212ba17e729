DROP TABLE chatd_node_user;
DROP TABLE user_presence;
