"""A raw socket.io client that talks to the app like a (hostile) browser would: any client token,
any handler name, any arguments, optionally our session cookie on the handshake."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import reflex as rx
import socketio
from reflex_base.event import EventHandler

NAMESPACE = "/_event"
LANG_VAR = "lang"


def all_states(cls: type[rx.State] = rx.State) -> Iterator[type[rx.State]]:
    yield cls
    for sub in cls.get_substates():
        yield from all_states(sub)


def all_handlers() -> list[tuple[str, EventHandler]]:
    """(full handler name, handler) for every handler of every State, inherited ones included."""
    import dashboard.dashboard  # noqa: F401  (registers every state)

    found: list[tuple[str, EventHandler]] = []
    for state in all_states():
        names = set(state.event_handlers)
        names |= {n for n in dir(state) if isinstance(getattr(state, n, None), EventHandler)}
        found += [(f"{state.get_full_name()}.{name}", getattr(state, name)) for name in sorted(names)]
    return found


class EventSocket:
    """One websocket connection; `call` returns every update the event produced.

    After each event a sentinel (the public language switch, alternating en/ru) is queued: Reflex
    processes one token's events in order, so its update marks the end of the event's updates.
    """

    def __init__(
        self,
        app_url: str,
        cookie: str | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        from dashboard.state.ui import UIState

        self.token = token or secrets.token_hex(16)  # Reflex's client token: any string a browser makes up
        self._ui_state = UIState.get_full_name()
        self._updates: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        self._lang = "en"  # a fresh token's language (UIState's default)
        self.client = socketio.Client(reconnection=False)
        self.client.on("event", self._on_update, namespace=NAMESPACE)
        headers = {**(headers or {}), **({"Cookie": f"wd_session={cookie}"} if cookie else {})}
        for attempt in range(3):
            try:
                self.client.connect(
                    f"{app_url}?token={self.token}",
                    socketio_path="/_event",
                    transports=["websocket"],
                    headers=headers,
                    namespaces=[NAMESPACE],
                    wait_timeout=10,
                )
                break
            except socketio.exceptions.ConnectionError as exc:
                # A transport hiccup on a loaded machine; a refusal (status code, origin) is not retried.
                if attempt == 2 or str(exc) != "Unexpected connection error":
                    raise
                time.sleep(0.5)

    def _on_update(self, data: Any) -> None:
        with self._arrived:
            self._updates.append(data if isinstance(data, dict) else {"raw": data})
            self._arrived.notify_all()

    def _emit(self, name: str, payload: dict[str, Any], path: str, query: dict[str, str] | None) -> None:
        router_data = {"pathname": path, "asPath": path, "query": query or {}}
        self.client.emit("event", {"name": name, "payload": payload, "router_data": router_data}, namespace=NAMESPACE)

    def call(
        self, name: str, payload: dict[str, Any] | None = None, *, path: str = "/", query: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        with self._arrived:
            start = len(self._updates)
        self._emit(name, payload or {}, path, query)
        if name == f"{self._ui_state}.set_language" and (payload or {}).get("lang") in ("en", "ru"):
            self._lang = (payload or {})["lang"]
        lang = self._lang = "en" if self._lang == "ru" else "ru"  # always a change, so always an update
        self._emit(f"{self._ui_state}.set_language", {"lang": lang}, path, None)
        with self._arrived:
            done = self._arrived.wait_for(lambda: self._sentinel_seen(start, lang), timeout=20)
            updates = self._updates[start:]
        assert done, f"no answer to {name} within 20 s"
        return updates

    def _sentinel_seen(self, start: int, lang: str) -> bool:
        for update in self._updates[start:]:
            values = (update.get("delta") or {}).get(self._ui_state, {})
            if any(k.split("_rx_state_")[0] == LANG_VAR and v == lang for k, v in values.items()):
                return True
        return False

    def close(self) -> None:
        self.client.disconnect()


def without_router(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deltas minus the router data: it only echoes the URL, client token and socket of the caller."""
    return [
        {
            state: {k: v for k, v in values.items() if "router" not in k}
            for state, values in (u.get("delta") or {}).items()
        }
        for u in updates
    ]


def redirects(updates: list[dict[str, Any]]) -> list[str]:
    return [
        str(event.get("payload", {}).get("path"))
        for update in updates
        for event in update.get("events") or []
        if event.get("name") == "_redirect"
    ]


def merged_delta(updates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for update in updates:
        for state, values in (update.get("delta") or {}).items():
            merged.setdefault(state, {}).update(values)
    return merged


def login_cookie(app_url: str, email: str, password: str) -> str:
    """Log in through the real HTTP route and return the session cookie's value."""
    import httpx

    response = httpx.post(f"{app_url}/api/auth/login", data={"email": email, "password": password}, timeout=30)
    assert response.status_code == 303, response.status_code
    attributes = response.headers["set-cookie"].lower()
    assert "httponly" in attributes and "samesite=lax" in attributes, attributes  # page scripts never see it
    cookie = response.cookies.get("wd_session")
    assert cookie, "login set no session cookie"
    return cookie
