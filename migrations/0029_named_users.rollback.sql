DROP FUNCTION named_users(bigint[], uuid[], text[]);
