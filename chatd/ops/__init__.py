"""Running chatd: the node table, systemd, garbage collection, metrics, logs, seed and stats."""
