"""Reflex configuration. Values come from services.core.settings (environment / .env.<ENV>).

Reflex's own database helpers are not used (services/core/db.py owns the engine), so no db_url.
Every key can still be overridden as REFLEX_<KEY> in the environment.
Run in production with:  reflex run --env prod --backend-host 127.0.0.1 --backend-port 8000
(one port serves the built pages, the websocket /_event, /ping and our /api/auth routes).
"""

from __future__ import annotations

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from dashboard.components.files_uploader import FilesUploaderPlugin
from dashboard.i18n.browser import TranslationTablePlugin
from services.core.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="dashboard",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Reflex's state lives in Redis whenever a Redis URL is configured (always in production).
    redis_url=_settings.redis_url,
    backend_host=_settings.app_host,
    # The websocket handshake (/_event) and CORS answers accept only these Origins (Reflex's default
    # is "*": any site could drive a victim's session). dashboard/api/origins.py checks the same list.
    cors_allowed_origins=list(_settings.allowed_origins),
    # TranslationTablePlugin writes the one translation table every page imports (dashboard/i18n);
    # FilesUploaderPlugin the files panel's upload module.
    plugins=[
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium")),
        TranslationTablePlugin(),
        FilesUploaderPlugin(),  # the files panel's upload script (dashboard/components/files_uploader.js)
    ],
    disable_plugins=[SitemapPlugin],
    # Automatic setters stay off (the default; passing the option only prints a deprecation).
)

if config.state_auto_setters:  # e.g. REFLEX_STATE_AUTO_SETTERS=true: every var would become client-writable
    raise RuntimeError("state_auto_setters must stay off: it lets any browser write any state var")
if list(config.cors_allowed_origins) != list(_settings.allowed_origins):  # e.g. REFLEX_CORS_ALLOWED_ORIGINS=*
    raise RuntimeError(
        "REFLEX_CORS_ALLOWED_ORIGINS must not be set: the allowed origins come from ALLOWED_ORIGINS "
        "(the websocket and the HTTP routes must agree on them)"
    )
