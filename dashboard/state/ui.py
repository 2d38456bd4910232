"""Browser preferences: only the interface language (the colour mode is Reflex's own, client-side)."""

from __future__ import annotations

import reflex as rx

from dashboard.i18n import DEFAULT_LANGUAGE, LANGUAGES
from dashboard.state.base import public


class UIState(rx.State):
    # Kept in the browser's localStorage, so the choice survives reloads and logins.
    lang: str = rx.LocalStorage(DEFAULT_LANGUAGE, name="wd_lang", sync=True)

    @public
    async def set_language(self, lang: str) -> None:
        """Any browser may call this; it only changes its own language choice.

        Async, so it runs on the event loop: it does no I/O, and a thread hop would cost more than
        the work (bench/event_loop.py measures this round trip while other sockets do slow work)."""
        if isinstance(lang, str) and lang in LANGUAGES:
            self.lang = lang
