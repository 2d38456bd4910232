"""Every text of the UI exists in English and Russian, and every error key a service raises has a message."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.i18n import LANGUAGES, TRANSLATIONS

ROOT = Path(__file__).resolve().parents[2]


def test_every_entry_has_every_language() -> None:
    missing = [key for key, texts in TRANSLATIONS.items() if any(not texts.get(lang) for lang in LANGUAGES)]
    assert not missing


def test_every_service_error_key_is_translated() -> None:
    used = set()
    for path in (ROOT / "services").rglob("*.py"):
        used |= set(re.findall(r"\"(error\.[a-z_]+)\"", path.read_text(encoding="utf-8")))
    assert used, "no error keys found in services/"
    assert sorted(used - set(TRANSLATIONS)) == []


def test_every_page_renders_with_known_keys() -> None:
    """`t(key)` raises KeyError for an unknown key: building each page checks them all."""
    import dashboard.dashboard as app_module

    for page in app_module.app._unevaluated_pages.values():
        assert page.component() is not None, page.route
