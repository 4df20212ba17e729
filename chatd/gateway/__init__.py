"""The real-time half: WS /chat/ws, per-process fan-out, and LISTEN/NOTIFY between processes."""
