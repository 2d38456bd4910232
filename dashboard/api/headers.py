"""Security headers on every HTTP response of the app: pages, static files, /ping, our routes, errors.

`SecurityHeaders` wraps the whole ASGI app Reflex builds (dashboard/api/__init__.py `App`), outside
Reflex's own CORS and error middleware, so nothing answers without them. Headers of the same name
set further in are replaced, never doubled. Websocket handshakes pass through untouched.

The Content-Security-Policy allows what the built pages need and nothing more:
- scripts: the app's own files, and the inline scripts of the pre-rendered pages by their SHA-256.
  Reflex pre-renders every page to static HTML (React Router's context, the module imports, React's
  streaming helpers, the colour-mode snippet); those scripts are the same for every visitor, so their
  hashes are known once the frontend is built and no nonce is needed. Any other script is blocked;
- connections: the app's own origin and the websocket of each allowed origin (Settings.allowed_origins);
- images and frames: the app's own, plus the S3 server's origin (S3_PUBLIC_URL, else S3_ENDPOINT_URL):
  file thumbnails and the image/PDF preview load from presigned S3 links (services.core.storage);
- no plugins, no <base>, forms post only to the app, and no site may frame it (clickjacking);
- styles: the app's own files and inline styles (STYLES below says why).
The hashes are read from the built pages (`.web/build/client`) once, when a worker builds the app
(`reflex run --env prod` builds the frontend before it starts the workers).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.core.settings import Settings, get_settings, origin_of

log = logging.getLogger(__name__)

HSTS = "max-age=63072000; includeSubDomains"  # two years; production only (it is served over https)
# Radix and Emotion write <style> elements and style attributes while the page runs, with content
# computed in the browser (Emotion's class rules, the scroll lock of dialogs): no hash can be known
# ahead (tried: every page reported dozens of blocked styles). Injected CSS cannot run script, and
# default-src 'self' keeps it from loading images or fonts from anywhere else.
STYLES = "style-src 'self' 'unsafe-inline'"
# The two-factor QR code is an image the server renders (services/identity/totp.py) and sends as a data:
# URI, so the secret never leaves for a third-party QR service. An image cannot run script.
IMAGES = "img-src 'self' data:"


class _InlineScripts(HTMLParser):
    """Collects the text of every <script> without src (the ones the policy must list by hash)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.scripts.append("".join(self._current))
            self._current = None


def inline_script_hashes(pages_dir: Path) -> list[str]:
    """The CSP source ('sha256-…') of every distinct inline script of the built pages, sorted."""
    hashes: set[str] = set()
    for page in sorted(pages_dir.rglob("*.html")) if pages_dir.is_dir() else ():
        parser = _InlineScripts()
        # Read as text: the browser hashes the script after turning CRLF into LF, and so does this.
        parser.feed(page.read_text(encoding="utf-8"))
        parser.close()
        for script in parser.scripts:
            digest = hashlib.sha256(script.encode("utf-8")).digest()
            hashes.add(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(hashes)


def content_security_policy(settings: Settings, pages_dir: Path) -> str:
    websockets = [origin.replace("http", "ws", 1) for origin in settings.allowed_origins]
    storage = _storage_origin(settings)
    directives: Iterable[str] = (
        "default-src 'self'",
        " ".join(["script-src 'self'", *inline_script_hashes(pages_dir)]),
        STYLES,
        " ".join([IMAGES, *storage]),
        " ".join(["connect-src 'self'", *websockets]),
        " ".join(["frame-src 'self'", *storage]),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
    return "; ".join(directives)


def _storage_origin(settings: Settings) -> list[str]:
    """The origin browsers fetch presigned file links from ([] when there is none, or it is not http(s))."""
    url = settings.s3_public_url or settings.s3_endpoint_url
    if not url:
        return []
    try:
        return [origin_of(url, allow_path=True)]
    except ValueError:
        return []


class SecurityHeaders:
    """ASGI middleware: sets the security headers on every HTTP response of `app`."""

    def __init__(self, app: ASGIApp, *, settings: Settings, pages_dir: Path) -> None:
        self.app = app
        if not pages_dir.is_dir():
            log.warning("no built pages in %s: the policy allows no inline script", pages_dir)
        values = {
            "content-security-policy": content_security_policy(settings, pages_dir),
            "referrer-policy": "no-referrer",  # invitation tokens travel in URLs
            "x-content-type-options": "nosniff",
        }
        if settings.env == "production":
            values["strict-transport-security"] = HSTS
        self.headers = [(name.encode(), value.encode()) for name, value in values.items()]
        self._names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self._names]
                message = {**message, "headers": [*kept, *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def built_pages_dir() -> Path:
    """Where Reflex serves the built frontend from in production (reflex.utils.exec.get_frontend_mount)."""
    from reflex import constants
    from reflex.config import get_config
    from reflex.utils import prerequisites

    return prerequisites.get_web_dir() / constants.Dirs.STATIC / get_config().frontend_path.strip("/")


def with_security_headers(app: ASGIApp) -> SecurityHeaders:
    return SecurityHeaders(app, settings=get_settings(), pages_dir=built_pages_dir())
