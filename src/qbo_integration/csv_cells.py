"""A CSV cell a spreadsheet shows as typed (used by the fallback export and the audit-log CSV)."""

from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Text a spreadsheet shows as typed: cells starting = + - @ TAB CR get a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
