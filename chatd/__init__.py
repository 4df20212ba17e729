"""chatd: a Discord-style chat backend over PostgreSQL."""

__version__ = "0.1.0"
