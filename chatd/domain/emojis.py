"""The emoji a reaction names: exactly one, validated and spelled one way with the `emoji`
library's Unicode data, so spellings that differ only in variation selectors ("❤" and "❤️")
are one reaction."""

from __future__ import annotations

import emoji

from chatd.domain.errors import BadInput

# Variation selectors ask for text or emoji presentation of the same character; they do not
# make another emoji.
_SELECTORS = "\ufe0e\ufe0f"
_WITHOUT_SELECTORS = str.maketrans("", "", _SELECTORS)
# Every fully-qualified emoji (the spelling Unicode recommends, and the one stored), by its
# code points without selectors. Skin-tone and ZWJ sequences are entries of their own;
# components (a skin tone or hair style alone) are not, as they are no emoji by themselves.
_CANONICAL = {
    spelling.translate(_WITHOUT_SELECTORS): spelling
    for spelling, data in emoji.EMOJI_DATA.items()
    if data["status"] == emoji.STATUS["fully_qualified"]
}


def canonical_emoji(text: str) -> str:
    """`text` as the fully-qualified spelling of the one emoji it is; 400 naming the problem
    when it is not exactly one."""
    found = _CANONICAL.get(text.translate(_WITHOUT_SELECTORS))
    if found is not None:
        return found
    if not text:
        raise BadInput("emoji is empty: name one emoji")
    if not text.strip(_SELECTORS):
        raise BadInput("emoji is only a variation selector: name one emoji")
    count = len(emoji.emoji_list(text))
    if count > 1 and not emoji.replace_emoji(text, "").strip(_SELECTORS):
        raise BadInput(f"emoji must be one emoji, not {count}")
    raise BadInput("emoji must be one Unicode emoji")
