"""Mentions as typed: the candidates a message's text names, found before it is stored.

Only candidates: whom they name is resolved by the statement that stores the message (sql/
messages.sql insert_message_batch, sql/edits.sql edit_messages), against the membership and the
roles of that moment: `<@id>` and `@username` (any case) of a reader of the channel; `@everyone`
and `@here` from a MODERATOR or ADMIN (from anyone else they are plain text). The text is stored
as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

# `@name` starts a word (not an e-mail address's domain); `<@id>` anywhere.
_TOKEN = re.compile(
    r"<@(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})>"
    r"|(?<![\w.@<-])@(?P<name>[A-Za-z0-9_.\-]{2,32})(?![\w-])")
# A note carries the ids of those mentioned: this many keep it within NOTIFY's 8000 bytes.
MAX_CANDIDATES = 50


@dataclass(frozen=True, slots=True)
class Candidates:
    ids: tuple[UUID, ...] = ()
    names: tuple[str, ...] = ()
    everyone: bool = False
    here: bool = False


NONE = Candidates()


def candidates(text: str) -> Candidates:
    """The distinct tokens of `text` (the first MAX_CANDIDATES of them)."""
    ids: dict[UUID, None] = {}
    names: dict[str, None] = {}
    everyone = here = False
    for match in _TOKEN.finditer(text):
        if match["id"] is not None:
            ids[UUID(match["id"])] = None
        else:
            name = match["name"].rstrip(".-").lower()  # a sentence's full stop is not part of the name
            if name == "everyone":
                everyone = True
            elif name == "here":
                here = True
            elif len(name) >= 2:
                names[name] = None
        if len(ids) + len(names) >= MAX_CANDIDATES:
            break
    if not (ids or names or everyone or here):
        return NONE
    return Candidates(tuple(ids), tuple(names), everyone, here)


def flattened(items: list[Candidates], item_ords: list[int] | None = None) -> dict[str, list]:
    """The statements' arrays: one element per token, with the ord of its item (`item_ords`, by
    default from 1 in order)."""
    ords: list[int] = []
    ids: list[UUID | None] = []
    names: list[str | None] = []
    for k, item in zip(item_ords or range(1, len(items) + 1), items):
        for user_id in item.ids:
            ords.append(k), ids.append(user_id), names.append(None)
        for name in item.names:
            ords.append(k), ids.append(None), names.append(name)
    return {"everyones": [item.everyone for item in items], "heres": [item.here for item in items],
            "mention_ords": ords, "mention_ids": ids, "mention_names": names}
