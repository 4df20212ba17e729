DROP TABLE chatd_node;
