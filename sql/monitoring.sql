-- What `chatd stats` prints, in the order chatd/ops/stats.py lists them; each runs from psql too.
-- The first three are the product spec's "Message Stats" queries, verbatim.

-- name: count_messages()
-- Total messages
SELECT COUNT(*) FROM chatmessage;

-- name: count_messages_per_channel()
-- Messages per channel
SELECT c.name, COUNT(m.id) as message_count
FROM chatchannel c
LEFT JOIN chatmessage m ON c.id = m.channel_id
GROUP BY c.name;

-- name: list_active_users()
-- Active users (messages in last 24 hours)
SELECT DISTINCT u.username
FROM users u
JOIN chatmessage m ON u.user_id = m.user_id
WHERE m.created_at > NOW() - INTERVAL '24 hours';

-- name: list_chatd_nodes()
-- Running chatd processes and their WebSocket connections (each refreshes its row every 10 s)
SELECT host, pid, connections, users,
       date_trunc('second', started_at) AS started_at,
       round(extract(epoch FROM now() - updated_at)::numeric, 1) AS seconds_since_update
  FROM chatd_node
 ORDER BY host, pid;

-- name: list_busiest_channels()
-- Busiest channels in the last hour (an index range on chatmessage.created_at)
SELECT s.name AS server, c.name AS channel, count(*) AS messages
  FROM chatmessage m
  JOIN chatchannel c ON c.id = m.channel_id
  JOIN chatserver s ON s.id = m.server_id
 WHERE m.created_at > now() - interval '1 hour'
 GROUP BY s.name, c.id, c.name
 ORDER BY messages DESC, s.name, c.name
 LIMIT 10;

-- name: list_largest_servers()
-- Largest servers by members
SELECT s.name AS server, count(*) AS members
  FROM chatserver s
  JOIN servermembership m ON m.server_id = s.id
 GROUP BY s.id, s.name
 ORDER BY members DESC, s.name
 LIMIT 10;

-- name: list_table_sizes()
-- Table sizes (table_size includes TOAST; total_size adds the indexes)
SELECT c.relname AS table_name,
       pg_size_pretty(pg_table_size(c.oid)) AS table_size,
       pg_size_pretty(pg_indexes_size(c.oid)) AS index_size,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r'
   AND n.nspname = current_schema()
 ORDER BY pg_total_relation_size(c.oid) DESC, c.relname;

-- name: list_index_sizes()
-- Index sizes
SELECT i.relname AS index_name, t.relname AS table_name,
       pg_size_pretty(pg_relation_size(i.oid)) AS size
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname = current_schema()
 ORDER BY pg_relation_size(i.oid) DESC, i.relname;
