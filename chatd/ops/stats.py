"""`chatd stats`: the queries of sql/monitoring.sql, as readable tables or as JSON."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from aiosql.queries import Queries

from chatd.store.pool import create_pool, load_queries

# The order they are printed in; every query of monitoring.sql is here (a test checks).
QUERIES = [
    "count_messages", "count_messages_per_channel", "list_active_users", "list_chatd_nodes",
    "list_busiest_channels", "list_largest_servers", "list_table_sizes", "list_index_sizes",
]

Section = tuple[str, list[str], list[tuple[Any, ...]]]  # title, columns, rows


def monitoring_queries() -> Queries:
    return load_queries("monitoring.sql", app=False)


async def collect(database_url: str) -> dict[str, Section]:
    """Each query's title (the comment under its name), columns and rows."""
    queries = monitoring_queries()
    pool = await create_pool(database_url, max_size=1)
    try:
        sections = {}
        for name in QUERIES:
            query = getattr(queries, name)
            records = [row async for row in query(pool)]
            columns = list(records[0].keys()) if records else []
            rows = [tuple(row.values()) for row in records]
            sections[name] = ((query.__doc__ or name).strip(), columns, rows)
        return sections
    finally:
        await pool.close()


def as_json(sections: dict[str, Section]) -> str:
    """{query name: [row objects]}, for scripts."""
    return json.dumps({name: [dict(zip(columns, map(_plain, row))) for row in rows]
                       for name, (_, columns, rows) in sections.items()}, indent=2) + "\n"


def as_tables(sections: dict[str, Section]) -> str:
    return "\n".join(_table(*section) for section in sections.values())


def _table(title: str, columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if not rows:
        return f"{title}\n(no rows)\n"
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return "" if value is None else str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value
