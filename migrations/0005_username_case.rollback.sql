DROP INDEX uq_users_lower_username;
