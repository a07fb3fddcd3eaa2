"""Text and JSON from outside the service (QuickBooks' records, Intuit's deliveries, request bodies),
checked or made storable.

PostgreSQL's text and jsonb refuse NUL (U+0000), and a lone UTF-16 surrogate (U+D800-U+DFFF, which
JSON's `\\ud800` escape can carry) cannot be encoded as UTF-8 at all. Input a person sends is refused
with a message (`unstorable_text_problem`); what QuickBooks holds is ours to keep whatever it is, so
it is stored with such characters replaced (`storable_text`, `storable_json`).
"""

from __future__ import annotations

import math
import re
from typing import Any

REPLACEMENT = "\ufffd"  # what a Unicode decoder shows for a character it cannot read
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_DEPTH = 64  # deeper JSON than any QuickBooks entity is cut off here (a value of None)


def unstorable_text_problem(value: str) -> str | None:
    """Why PostgreSQL cannot store this text (a NUL character, or a lone UTF-16 surrogate), or None."""
    if "\x00" in value:
        return "must not contain NUL (\\u0000) characters"
    if _UNSTORABLE.search(value):
        return "must be valid Unicode text (it contains a lone surrogate such as \\ud800)"
    return None


def storable_text(value: str, max_length: int | None = None) -> str:
    """The text with NUL and lone surrogates replaced by U+FFFD, cut to `max_length` characters."""
    out = _UNSTORABLE.sub(REPLACEMENT, value)
    return out if max_length is None else out[:max_length]


def storable_json(value: Any, _depth: int = 0) -> Any:
    """A copy of a JSON-like value that jsonb accepts: every string (keys too) made storable, NaN and
    infinities as None (jsonb has no such numbers), anything that is not JSON as its text."""
    if _depth > MAX_DEPTH:
        return None
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_json(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v, _depth + 1) for v in value]
    return storable_text(str(value))
