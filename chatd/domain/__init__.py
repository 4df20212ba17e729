"""The rules and operations of chat, free of HTTP and WebSocket: who may do what, and doing it."""
