"""Browser preferences: only the interface language (the colour mode is Reflex's own, client-side)."""

from __future__ import annotations

import reflex as rx

from dashboard.i18n import DEFAULT_LANGUAGE, LANGUAGES
from dashboard.state.base import public


class UIState(rx.State):
    # Kept in the browser's localStorage, so the choice survives reloads and logins.
    lang: str = rx.LocalStorage(DEFAULT_LANGUAGE, name="wd_lang", sync=True)

    @public
    def set_language(self, lang: str) -> None:
        """Any browser may call this; it only changes its own language choice."""
        if isinstance(lang, str) and lang in LANGUAGES:
            self.lang = lang
