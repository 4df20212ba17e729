"""PostgreSQL: the pool and named queries, group commit, migrations, the embedded server."""
