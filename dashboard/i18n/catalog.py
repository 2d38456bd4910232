"""The translation catalogs: data files, merged once per process.

Layout: `catalogs/<language>/<part>.json`, one flat JSON object (key -> text) per feature or
shared part (`team.json`, `errors.json`, `roles.json`…). The languages are the folders found, so
a new language is a new folder of JSON files and no code. English is the reference: its files
name every key.

Refused at load, with a `CatalogError` naming the file(s) (the app does not start):
- a key defined twice in one language, in two files or twice in one file;
- a value that is not a non-empty string, a file that is not one JSON object, a folder name
  that is not a language tag, no English folder.
Not refused here, so a half-done translation still runs (its missing keys show in English): a
language lacking keys. The unit tests require every shipped language to have every English key
in the file of the same name.

Imports nothing of Reflex: the catalogs are plain data, read by the server (`text`) and turned
into the browser's table (`dashboard.i18n.browser`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_LANGUAGE = "en"
CATALOG_DIR = Path(__file__).with_name("catalogs")

# A language folder's name is what the browser stores and the switch shows: "en", "pt-br".
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


class CatalogError(ValueError):
    """A catalog file is malformed or clashes with another one."""


@dataclass(frozen=True)
class Catalogs:
    languages: tuple[str, ...]  # DEFAULT_LANGUAGE first, then the others sorted
    texts: Mapping[str, Mapping[str, str]]  # language -> key -> text (only what that language defines)
    parts: Mapping[str, Mapping[str, frozenset[str]]]  # language -> file stem -> its keys

    def text(self, key: str, lang: str) -> str:
        """The same fallbacks as the browser's table: the key in English, then the key itself."""
        default = self.texts[DEFAULT_LANGUAGE]
        return self.texts.get(lang, default).get(key) or default.get(key) or key


def load_catalogs(root: Path = CATALOG_DIR) -> Catalogs:
    if not (root / DEFAULT_LANGUAGE).is_dir():
        raise CatalogError(f"no {DEFAULT_LANGUAGE!r} folder in {root}: English is the reference language")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    texts: dict[str, dict[str, str]] = {}
    parts: dict[str, dict[str, frozenset[str]]] = {}
    for folder in folders:
        lang = folder.name
        if not _LANGUAGE_TAG.match(lang):
            raise CatalogError(f"{_shown(folder, root)}: a language folder is named by its tag, like 'en' or 'pt-br'")
        merged: dict[str, str] = {}
        defined_in: dict[str, Path] = {}
        parts[lang] = {}
        for path in sorted(folder.glob("*.json")):
            table = _read(path, root)
            for key, value in table.items():
                if key in defined_in:
                    raise CatalogError(
                        f"translation key {key!r} is defined twice: in {_shown(defined_in[key], root)}"
                        f" and in {_shown(path, root)}"
                    )
                defined_in[key] = path
                merged[key] = value
            parts[lang][path.stem] = frozenset(table)
        texts[lang] = merged
    languages = (DEFAULT_LANGUAGE, *sorted(lang for lang in texts if lang != DEFAULT_LANGUAGE))
    return Catalogs(languages=languages, texts=texts, parts=parts)


def _read(path: Path, root: Path) -> dict[str, str]:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        table: dict[str, Any] = {}
        for key, value in items:
            if key in table:
                raise CatalogError(f"translation key {key!r} is defined twice in {_shown(path, root)}")
            table[key] = value
        return table

    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{_shown(path, root)} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{_shown(path, root)} must hold one JSON object of key -> text")
    for key, value in data.items():
        if not isinstance(value, str) or not value:
            raise CatalogError(f"{_shown(path, root)}: {key!r} must be a non-empty string")
    return data


def _shown(path: Path, root: Path) -> str:
    """The path as a reader finds it: from the catalogs folder's parent (`catalogs/en/team.json`)."""
    return str(path.relative_to(root.parent))


# Loaded once at import: a clash stops the app at start, not on the page that shows the key.
CATALOGS = load_catalogs()
