-- name: reset_tables()!
-- Each test starts from empty tables; cheaper than a database per test. The tables cleared are
-- the roots below and every table whose foreign keys lead to them (what TRUNCATE ... CASCADE
-- of the roots would clear). A small table is emptied by DELETE in replica mode (no foreign key
-- or trigger fires; the embedded server's user is a superuser): ~2 ms for all of them, where
-- TRUNCATE, making new files for each table and index, takes ~130 ms, a tenth of the suite's
-- time. A table past 1 MiB is truncated: its rows would be slow to delete, and its dead ones
-- would stay in the planner's page counts, misleading the next test's plans.
DO $$
DECLARE
  cleared regclass[];
  large regclass[];
  t regclass;
BEGIN
  SET LOCAL session_replication_role = replica;
  WITH RECURSIVE reached(t) AS (
    SELECT unnest(ARRAY['users', 'chatserver', 'chatchannel', 'chatmessage', 'chatmessage_nonce',
                        'servermembership', 'chatd_node', 'chatd_node_user', 'login_failure',
                        'attachment_trash']::regclass[])
    UNION
    SELECT c.conrelid::regclass FROM pg_constraint c JOIN reached ON c.confrelid = reached.t
     WHERE c.contype = 'f')
  SELECT array_agg(reached.t), array_agg(reached.t) FILTER (WHERE pg_relation_size(reached.t) > 1048576)
    INTO cleared, large
    FROM reached;
  IF large IS NOT NULL THEN
    EXECUTE format('TRUNCATE %s CASCADE', array_to_string(large, ', '));
  END IF;
  FOREACH t IN ARRAY cleared LOOP
    EXECUTE format('DELETE FROM %s', t);
  END LOOP;
END
$$;
