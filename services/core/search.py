"""Substring search in lists (ILIKE): what the user typed is matched literally, wildcards included."""

from __future__ import annotations

LIKE_ESCAPE = "\\"


def like_pattern(text: str) -> str:
    """`%text%` for ILIKE with the wildcards (% and _) and the escape character taken literally
    (use with `escape=LIKE_ESCAPE`)."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"
