"""A server's layout: its categories and the order of its channels (issue 19).

Every change of the layout runs under the server row's lock (lock_server_channels) or takes
it in its one statement, moves the server's layout_version on in that statement, and sends
the note that becomes `layout_updated`. A reorder (PUT) names the version it was based on: a
stale one is a 409 that carries the current layout, so of two edits based on one version
exactly one wins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from uuid import UUID

import msgspec

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput, Conflict, NotFound
from chatd.domain.inputs import stripped
from chatd.domain.schemas import Category, Layout, LayoutChange

CATEGORY_NOT_FOUND = "category not found"
STALE_LAYOUT = "the layout changed since that version: here is the current one"
_layout = msgspec.json.Decoder(Layout)


async def get_layout(app: Mapping, server_id: UUID) -> Layout:
    text = await app[keys.queries].get_layout(app[keys.pool], server_id=server_id)
    if text is None:
        raise NotFound(permissions.SERVER_NOT_FOUND)
    return _layout.decode(text)


def check_layout(current: Layout, change: LayoutChange) -> None:
    """A layout lists every category and every channel of the server exactly once: the 400
    names what it misses, repeats or invents."""
    problems = []
    for what, have, given in (
            ("category", [c.id for c in current.categories], [c.id for c in change.categories]),
            ("channel", [i for c in current.categories for i in c.channel_ids] + current.uncategorized,
             [i for c in change.categories for i in c.channel_ids] + change.uncategorized)):
        known, counts = set(have), Counter(given)
        for verb, ids in (("misses", [i for i in have if i not in counts]),
                          ("repeats", [i for i, n in counts.items() if n > 1 and i in known]),
                          ("names unknown", [i for i in counts if i not in known])):
            if ids:
                problems.append(f"{verb} {what} {_ids(ids)}")
    if problems:
        raise BadInput("the layout must list every category and channel exactly once: it " + "; ".join(problems))


def _ids(ids: Iterable[UUID]) -> str:
    return ", ".join(str(i) for i in ids)


async def put_layout(app: Mapping, server_id: UUID, change: LayoutChange) -> Layout:
    """One statement places every category and channel; the layout as it is then."""
    current = await get_layout(app, server_id)
    if change.version != current.version:
        raise Conflict(STALE_LAYOUT, layout=current)
    check_layout(current, change)
    channel_ids, channel_categories, positions = [], [], []
    for category_id, ids in [(None, change.uncategorized), *((c.id, c.channel_ids) for c in change.categories)]:
        channel_ids += ids
        channel_categories += [category_id] * len(ids)
        positions += range(len(ids))
    version = await app[keys.notes].emit(
        app[keys.queries].put_layout, app[keys.pool], server_id=server_id, version=change.version,
        category_ids=[c.id for c in change.categories], channel_ids=channel_ids,
        channel_categories=channel_categories, channel_positions=positions)
    if version is None:  # another edit based on the same version committed first
        raise Conflict(STALE_LAYOUT, layout=await get_layout(app, server_id))
    categories = {c.id: c for c in current.categories}
    return Layout(version=version,
                  categories=[Category(c.id, categories[c.id].name, n, c.channel_ids)
                              for n, c in enumerate(change.categories)],
                  uncategorized=change.uncategorized)


async def create_category(app: Mapping, server_id: UUID, name: str) -> Category:
    """After the server's last category; categories created at once take turns on the server row."""
    name = stripped(name, "name")
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        if await queries.lock_server_channels(con, server_id=server_id) is None:
            raise NotFound(permissions.SERVER_NOT_FOUND)
        row = await app[keys.notes].emit(queries.create_category, con, server_id=server_id, name=name)
    return Category(row["id"], row["name"], row["position"], [])


async def rename_category(app: Mapping, server_id: UUID, category_id: UUID, name: str) -> Category:
    name = stripped(name, "name")
    row = await app[keys.notes].emit(app[keys.queries].rename_category, app[keys.pool], server_id=server_id,
                                     category_id=category_id, name=name)
    if row is None:
        raise NotFound(CATEGORY_NOT_FOUND)
    return Category(row["id"], row["name"], row["position"], list(row["channel_ids"]))


async def delete_category(app: Mapping, server_id: UUID, category_id: UUID) -> None:
    """Its channels become uncategorized, after those that were already."""
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        await queries.lock_server_channels(con, server_id=server_id)
        if await app[keys.notes].emit(queries.delete_category, con, server_id=server_id,
                                      category_id=category_id) is None:
            raise NotFound(CATEGORY_NOT_FOUND)
