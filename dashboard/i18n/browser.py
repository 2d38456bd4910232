"""The browser's translation table: one generated JS module that every page imports.

`TranslationTablePlugin` (listed in rxconfig.py) writes `.web/i18n/translations.js` at every
compile, from the merged catalogs. A `t()` call site compiles to `translate(lang, "key")`, so the
texts exist once in the built client (one shared chunk) instead of once per call site.
The module is plain data and a pure function: it works while pages are pre-rendered at build
time (no `window` there) and, since `lang` is a state Var, every text follows a language switch
without a reload.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reflex.plugins import Plugin

from dashboard.i18n.catalog import CATALOGS, DEFAULT_LANGUAGE, Catalogs

MODULE_FILE = Path("i18n") / "translations.js"  # inside .web
MODULE_IMPORT = "$/" + MODULE_FILE.with_suffix("").as_posix()
FUNCTION = "translate"


def browser_module(catalogs: Catalogs) -> str:
    texts = json.dumps(catalogs.texts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # hasOwn, not `table[key]`: a key such as "constructor" must not reach Object.prototype.
    return f"""// Generated from dashboard/i18n/catalogs by dashboard/i18n/browser.py at every compile: do not edit.
const TEXTS = {texts};
const lookup = (table, key) => (table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined);

// A language without the key falls back to {DEFAULT_LANGUAGE}; an unknown key shows as itself.
export const {FUNCTION} = (lang, key) =>
  lookup(Object.hasOwn(TEXTS, lang) ? TEXTS[lang] : undefined, key) ?? lookup(TEXTS[{json.dumps(DEFAULT_LANGUAGE)}], key) ?? key;
"""


class TranslationTablePlugin(Plugin):
    """Emits the translation module into `.web` whenever Reflex compiles the frontend."""

    def get_static_assets(self, **context: Any) -> Sequence[tuple[Path, str | bytes]]:
        return [(MODULE_FILE, browser_module(CATALOGS))]
