"""Every piece of UI text, in every language found in `catalogs/` (see `catalog.py` for the layout).

`t("key")` gives a component-ready Var that follows the browser's language choice
(`UIState.lang`, kept in localStorage). `t_var(var)` translates a key that is itself a
state Var (an error key from a service, a role, a status). Both compile to a call of the one
shared table in the browser (`browser.py`), never to a copy of the texts. Keys missing from the
table render as themselves, so a forgotten key is visible rather than blank; `t()` refuses an
unknown static key when the page is built.
"""

from __future__ import annotations

from typing import Any, cast

import reflex as rx
from reflex.vars import FunctionStringVar, VarData

from dashboard.i18n.browser import FUNCTION, MODULE_IMPORT
from dashboard.i18n.catalog import CATALOGS, DEFAULT_LANGUAGE

__all__ = ["DEFAULT_LANGUAGE", "ERROR_KEYS", "LANGUAGES", "error_key", "t", "t_var", "text"]

LANGUAGES = CATALOGS.languages
_DEFAULT_TEXTS = CATALOGS.texts[DEFAULT_LANGUAGE]

ERROR_KEYS = frozenset(k for k in _DEFAULT_TEXTS if k.startswith("error."))

_TRANSLATE: FunctionStringVar[Any] = FunctionStringVar.create(
    FUNCTION, _var_data=VarData(imports={MODULE_IMPORT: [rx.ImportVar(tag=FUNCTION, install=False)]})
)


def text(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Plain-Python translation (for server-side messages and tests)."""
    return CATALOGS.text(key, lang)


def error_key(message: str | None) -> str:
    """A service error's message as a known error key (anything else becomes the generic error)."""
    return message if message in ERROR_KEYS else "error.generic"


def _lang() -> rx.Var[str]:
    # Imported here: dashboard.state.ui imports this module for LANGUAGES.
    from dashboard.state.ui import UIState

    return cast("rx.Var[str]", UIState.lang)  # a str field on instances, a Var on the class


def t(key: str) -> rx.Var[str]:
    """A static key, translated in the browser according to the chosen language."""
    if key not in _DEFAULT_TEXTS:
        raise KeyError(f"missing translation key {key!r}")
    return _TRANSLATE.call(_lang(), key).to(str)


def t_var(key: rx.Var[Any] | Any, prefix: str = "") -> rx.Var[str]:
    """A key known only at run time (a Var), optionally prefixed, e.g. t_var(State.role, "role.")."""
    full_key = rx.Var.create(prefix) + key.to(str) if prefix else key.to(str)
    return _TRANSLATE.call(_lang(), full_key).to(str)
