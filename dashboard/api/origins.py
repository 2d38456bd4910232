"""Which origins may use a signed-in session: the one check every credentialed HTTP route makes.

The allowed origins are `Settings.allowed_origins` (ALLOWED_ORIGINS, by default PUBLIC_URL's origin).
rxconfig.py hands the same list to Reflex as `cors_allowed_origins`, so the websocket handshake of
`/_event` refuses every other Origin and no other origin gets CORS access to a response.

Why "same site" is not enough: the session cookie is SameSite=Lax, so a page on a sibling subdomain
(user-hosted content, a taken-over name) sends it along; only the exact origin tells the app's own
pages apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.core.settings import get_settings, origin_of

# Sec-Fetch-Site values of requests the browser did not start for another origin's page: the app's
# own pages, or the user (address bar, bookmark).
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def origin_allowed(headers: Mapping[str, str]) -> bool:
    """Whether a request with these (lower-case) headers may act with the cookie it carries.

    `Origin`, which browsers send with every POST and every cross-origin request, must be an allowed
    origin. "null" is no origin, with one exception: under our `Referrer-Policy: no-referrer` the
    browser sends "null" for the app's own form posts, and then `Sec-Fetch-Site` (which no page can
    set) must say same-origin. Without `Origin` (a GET from a link or the address bar),
    `Sec-Fetch-Site` must say same-origin or none. A browser too old for either is judged by `Referer`
    when it sends one. A request with none of them comes from no browser page (curl, a health check),
    so no other site can have made it with a victim's cookie: allowed.
    """
    origin = headers.get("origin")
    fetch_site = headers.get("sec-fetch-site", "").lower()
    if origin == "null":
        return fetch_site == "same-origin"
    allowed = get_settings().allowed_origins
    if origin is not None:
        return _is_allowed(origin, allowed)
    if fetch_site:
        return fetch_site in OWN_FETCH_SITES
    referer = headers.get("referer")
    return referer is None or _is_allowed(referer, allowed, allow_path=True)


def _is_allowed(url: str, allowed: tuple[str, ...], *, allow_path: bool = False) -> bool:
    try:
        return origin_of(url, allow_path=allow_path) in allowed
    except ValueError:  # "null", garbage: not an origin, so not an allowed one
        return False
