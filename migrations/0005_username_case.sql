-- depends: 0003_chatd_node
-- "Alice" and "alice" are one name: a unique index on lower(username), which also serves the
-- login lookup (WHERE lower(username) = lower(:username)). users_username_key stays: the
-- product spec's psql queries know it.
--
-- A database may already hold names that differ only in case. Then the index cannot be built,
-- and which account keeps the name is the operator's call, not the migration's: it stops,
-- names each group and says how to resolve it. PostgreSQL runs the migration in one
-- transaction, so stopping leaves the schema as it was.

DO $$
DECLARE
    clashes text;
    example text;
BEGIN
    SELECT string_agg(names, '; ' ORDER BY names), min(fix)
      INTO clashes, example
      FROM (SELECT string_agg(username, ', ' ORDER BY username COLLATE "C") AS names,
                   format('UPDATE users SET username = %L WHERE username = %L;',
                          min(username COLLATE "C") || '_2', min(username COLLATE "C")) AS fix
              FROM users
             GROUP BY lower(username)
            HAVING count(*) > 1) AS groups;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'usernames that differ only in case: %', clashes
            USING DETAIL = 'Usernames are becoming unique regardless of case, so each group must come down to one name.',
                  HINT = 'Rename all but one name of each group, for example: ' || example
                         || ' Then run chatd migrate again.';
    END IF;
END
$$;

CREATE UNIQUE INDEX uq_users_lower_username ON users (lower(username));
