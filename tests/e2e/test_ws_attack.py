"""Raw websocket attack: a never-logged-in browser and a Client of another company call EVERY
handler of EVERY State by name, with plausible arguments aimed at company A (Acme). Nothing in the
database changes, and no data of A appears in anything sent back."""

from __future__ import annotations

import hashlib
import inspect
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from devtools.seed import DEMO_USERS
from models import TENANT_TABLES, Role
from tests.e2e.ws import EventSocket, all_handlers, login_cookie, without_router

pytestmark = pytest.mark.e2e

# Tables an attack must leave untouched. `sessions` and `audit_logs` are left out: a Client may
# legitimately end its own sessions, and refused attempts may be logged; so are `two_factor_credentials`
# and `recovery_codes`: a Client may start setting up its own two-factor (a new unconfirmed key and codes).
SELF_SERVICE = ("audit_logs", "two_factor_credentials", "recovery_codes")
WATCHED = ("companies", "plans", *(t for t in TENANT_TABLES if t not in SELF_SERVICE))
USER_VOLATILE = "last_login_at"
# Handlers that end the caller's own session run last, so the rest run with the session alive.
SESSION_ENDING = ("logout", "revoke")


@pytest.fixture(scope="module")
def owner(e2e_database: tuple[str, str]) -> Iterator[Engine]:
    engine = create_engine(e2e_database[0])
    yield engine
    engine.dispose()


def snapshot(engine: Engine) -> dict[str, str]:
    digests = {}
    with engine.connect() as conn:
        conn.execute(text("SET app.rls_bypass = 'on'"))
        for table in WATCHED:
            rows = conn.execute(
                text(f"SELECT to_jsonb(t) - '{USER_VOLATILE}' AS r FROM {table} t ORDER BY 1::text")
            ).all()
            digests[table] = hashlib.sha256(repr(sorted(str(r[0]) for r in rows)).encode()).hexdigest()
    return digests


def victim(engine: Engine, slug: str) -> tuple[list[str], list[str]]:
    """(ids, words) of one company: everything that must never reach another tenant."""
    with engine.connect() as conn:
        conn.execute(text("SET app.rls_bypass = 'on'"))
        company = conn.execute(text("SELECT id, name FROM companies WHERE slug = :s"), {"s": slug}).one()
        ids = [str(company.id)]
        words = [company.name]
        for table, word in (("users", "email"), ("projects", "name"), ("invitations", "email")):
            rows = conn.execute(text(f"SELECT id, {word} FROM {table} WHERE company_id = :c"), {"c": company.id})
            for row in rows:
                ids.append(str(row[0]))
                words.append(str(row[1]))
        for table in ("tasks", "subscriptions", "invoices"):
            query = text(f"SELECT id FROM {table} WHERE company_id = :c LIMIT 3")
            ids += [str(r[0]) for r in conn.execute(query, {"c": company.id})]
        query = text("SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.company_id = :c LIMIT 3")
        ids += [str(r[0]) for r in conn.execute(query, {"c": company.id})]
    return ids, words


def plausible_payloads(params: list[str], ids: list[str]) -> Iterator[dict[str, Any]]:
    """Arguments a real page would send, aimed at the victim's ids."""

    def value(name: str, target: str) -> Any:
        if name in ("active", "forward"):
            return False
        if name == "role":
            return "manager"
        if name == "lang":
            return "ru"
        if name == "form_data":
            form = {
                "email": "attacker@example.com",
                "password": "attacker-password-123",
                "full_name": "Mallory",
                "company_name": "Evil",
                "current_password": "guess-guess-guess",
                "new_password": "another-long-pass-1",
                "role": "manager",
                "search": "",
                "action": "",
                "date_from": "",
                "date_to": "",
                "user_id": target,
                "company_id": target,
                "project_id": target,
                "invitation_id": target,
            }
            return form | {f"member_{i}": "on" for i in ids[:8]} | {f"project_{i}": "on" for i in ids[:8]}
        return target

    if not params:
        yield {}
        return
    for target in ids:
        yield {name: value(name, target) for name in params}


def handler_params(handler: Any) -> list[str]:
    return [p for p in inspect.signature(handler.fn).parameters if p not in ("self", "actor")]


def attack(app_url: str, cookie: str | None, ids: list[str]) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    handlers = sorted(all_handlers(), key=lambda h: any(w in h[0].rsplit(".", 1)[1] for w in SESSION_ENDING))
    socket = EventSocket(app_url, cookie)
    results = []
    try:
        for name, handler in handlers:
            params = handler_params(handler)
            if not params:  # page loads read their target from the URL: aim that at the victim too
                for path, query in (("/", {}), (f"/companies/{ids[0]}", {"id": ids[0], "token": ids[0]})):
                    results.append((name, {}, socket.call(name, {}, path=path, query=query)))
                continue
            for payload in plausible_payloads(params, ids):
                results.append((name, payload, socket.call(name, payload)))
    finally:
        socket.close()
    return results


def leaked(updates: list[dict[str, Any]], payload: dict[str, Any], ids: list[str], words: list[str]) -> list[str]:
    sent = repr(payload)
    body = repr(without_router(updates))
    return [w for w in words if w in body] + [i for i in ids if i in body and i not in sent]


@pytest.mark.parametrize("attacker", ["anonymous", "client_of_other_company"])
def test_no_handler_changes_data_or_leaks_another_tenant(app_url: str, owner: Engine, attacker: str) -> None:
    acme_ids, acme_words = victim(owner, "acme")
    globex_ids, globex_words = victim(owner, "globex")
    cookie = None
    if attacker != "anonymous":
        client = next(u for u in DEMO_USERS if u.role is Role.CLIENT and u.company == "globex")
        cookie = login_cookie(app_url, client.email, client.password)
    forbidden_ids, forbidden_words = acme_ids, acme_words
    if attacker == "anonymous":  # a stranger sees nobody's data
        forbidden_ids, forbidden_words = acme_ids + globex_ids, acme_words + globex_words
    before = snapshot(owner)
    results = attack(app_url, cookie, [*acme_ids, str(uuid.uuid4())])
    after = snapshot(owner)
    assert after == before, [t for t in WATCHED if after[t] != before[t]]
    leaks = [
        (name, found)
        for name, payload, updates in results
        if (found := leaked(updates, payload, forbidden_ids, forbidden_words))
    ]
    assert not leaks, leaks[:5]
    assert len(results) > 100  # every handler was really called
