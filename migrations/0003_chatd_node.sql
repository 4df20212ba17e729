-- depends: 0002_message_seq
-- One row per running chatd process, kept current by the process (chatd/nodes.py), so its
-- live connections are visible from psql: the seed's "Active connections", across processes.

CREATE TABLE chatd_node (
    node_id     uuid PRIMARY KEY,
    host        text NOT NULL,
    pid         integer NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    connections integer NOT NULL DEFAULT 0,
    users       integer NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
