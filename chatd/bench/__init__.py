"""`python -m chatd bench`: chatd measured against the raw ceilings of the same machine, in the
same run (database inserts, WebSocket fan-out, LISTEN/NOTIFY), because on a shared machine only
the ratios mean anything."""
