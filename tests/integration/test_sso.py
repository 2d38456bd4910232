"""Single sign-on (services/people/sso.py and its routes) against a local OpenID Connect provider
started by the tests (tests/oidc_provider.py), never the internet: the happy path, and each refusal
with its own message: a wrong state, a replayed code, a bad signature, an unverified e-mail, an
address that is not a member."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.exceptions import StarletteDeprecationWarning

from dashboard.api import api_app
from dashboard.api.auth import SSO_COOKIE
from models import AuditLog, Company, Invitation, Role, SsoProvider, User, utcnow
from services.core import crypto
from services.core.errors import ValidationFailed
from services.core.passwords import hash_password
from services.identity import auth
from services.people import sso
from tests.conftest import RLS_BYPASS_SQL
from tests.factories import make_company, make_invitation, make_user
from tests.oidc_provider import LocalOidcProvider, follow_to_callback

with warnings.catch_warnings():  # Starlette would like `httpx2` (not installed); httpx does the same job here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle")]

PASSWORD = "sso-company-password-52"


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalOidcProvider]:
    provider = LocalOidcProvider().start()
    yield provider
    provider.stop()


@dataclass
class SsoCompany:
    slug: str
    company_id: uuid.UUID
    manager: str
    worker: str


@pytest.fixture
def company(owner_engine: Engine, idp: LocalOidcProvider) -> Iterator[SsoCompany]:
    """A company with a manager, a worker, a pending invitation and the local provider, committed for real."""
    idp.user, idp.bad_signature, idp.claims_override = {}, False, {}
    with Session(owner_engine, expire_on_commit=False) as setup:
        setup.execute(sa.text(RLS_BYPASS_SQL))
        row = make_company(setup, "Single Sign Co")
        manager = make_user(setup, row, Role.MANAGER, password_hash=hash_password(PASSWORD))
        worker = make_user(setup, row, Role.WORKER, password_hash=hash_password(PASSWORD))
        make_invitation(setup, row, role=Role.CLIENT, email="invited.client@sso.example.com")
        setup.add(
            SsoProvider(
                company_id=row.id,
                name="Local IdP",
                issuer=idp.issuer,
                client_id=idp.client_id,
                client_secret_encrypted=crypto.encrypt(idp.client_secret),
                join_domain="joiners.example.com",
            )
        )
        data = SsoCompany(row.slug, row.id, manager.email, worker.email)
        setup.commit()
    try:
        yield data
    finally:
        with Session(owner_engine) as cleanup:
            cleanup.execute(sa.text(RLS_BYPASS_SQL))
            cleanup.execute(sa.delete(Company).where(col(Company.id) == data.company_id))
            cleanup.commit()


@pytest.fixture
def client(migrated_database: str) -> Iterator[TestClient]:
    with TestClient(api_app(), base_url="http://localhost:8000", follow_redirects=False) as test_client:
        yield test_client


def start(client: TestClient, slug: str) -> str:
    """The start route: the provider's authorize URL (and the browser's state cookie in the client)."""
    response = client.get(f"/api/auth/sso/start?company={slug}")
    assert response.status_code == 303, response.headers.get("location")
    assert any(c.startswith(f"{SSO_COOKIE}=") and "HttpOnly" in c for c in response.headers.get_list("set-cookie"))
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] and query["nonce"]
    assert "code_verifier" not in query  # the verifier never leaves the server
    return location


def sign_in(client: TestClient, idp: LocalOidcProvider, slug: str, **claims: object) -> tuple[str, str]:
    """A whole SSO sign-in as `claims`: (where the callback sends the browser, the callback URL)."""
    idp.user = {"email_verified": True, **claims}
    callback = follow_to_callback(start(client, slug))
    response = client.get(callback)
    return response.headers["location"], callback


def test_a_member_signs_in_through_the_provider(
    client: TestClient, idp: LocalOidcProvider, company: SsoCompany
) -> None:
    where, _ = sign_in(client, idp, company.slug, email=company.worker.upper(), name="Worker W")
    assert where == "/"
    actor = auth.resolve_actor(client.cookies.get(auth.SESSION_COOKIE))
    assert actor is not None and actor.email == company.worker and actor.company_id == company.company_id


def test_a_wrong_state_is_refused(client: TestClient, idp: LocalOidcProvider, company: SsoCompany) -> None:
    idp.user = {"email": company.worker, "email_verified": True}
    callback = follow_to_callback(start(client, company.slug))
    forged = callback.replace("state=", "state=x")
    assert client.get(forged).headers["location"] == "/login?error=error.sso_state_invalid"
    # Another browser (no state cookie) cannot finish it either.
    with TestClient(api_app(), base_url="http://localhost:8000", follow_redirects=False) as stranger:
        assert stranger.get(callback).headers["location"] == "/login?error=error.sso_state_invalid"
    assert auth.SESSION_COOKIE not in client.cookies


def test_a_replayed_callback_or_code_is_refused(
    client: TestClient, idp: LocalOidcProvider, company: SsoCompany
) -> None:
    where, callback = sign_in(client, idp, company.slug, email=company.worker)
    assert where == "/"
    client.cookies.clear()
    # The same callback again: its flow was taken.
    assert client.get(callback).headers["location"] == "/login?error=error.sso_state_invalid"
    # The used code inside a new, valid flow: the provider refuses it.
    fresh = follow_to_callback(start(client, company.slug))
    used_code = parse_qs(urlsplit(callback).query)["code"][0]
    state = parse_qs(urlsplit(fresh).query)["state"][0]
    replay = f"/api/auth/sso/callback?code={used_code}&state={state}"
    assert client.get(replay).headers["location"] == "/login?error=error.sso_failed"


def test_a_bad_signature_is_refused(client: TestClient, idp: LocalOidcProvider, company: SsoCompany) -> None:
    idp.bad_signature = True
    where, _ = sign_in(client, idp, company.slug, email=company.worker)
    assert where == "/login?error=error.sso_token_invalid"
    assert auth.SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize(
    "override",
    [{"aud": "another-client"}, {"iss": "https://impostor.example.com"}, {"nonce": "not-ours"}, {"exp": 1000}],
    ids=["audience", "issuer", "nonce", "expired"],
)
def test_an_id_token_for_someone_else_is_refused(
    client: TestClient, idp: LocalOidcProvider, company: SsoCompany, override: dict[str, object]
) -> None:
    idp.claims_override = override
    where, _ = sign_in(client, idp, company.slug, email=company.worker)
    assert where == "/login?error=error.sso_token_invalid"


def test_an_unverified_email_is_refused(client: TestClient, idp: LocalOidcProvider, company: SsoCompany) -> None:
    where, _ = sign_in(client, idp, company.slug, email=company.worker, email_verified=False)
    assert where == "/login?error=error.sso_email_unverified"
    where, _ = sign_in(client, idp, company.slug, name="No Mail")
    assert where == "/login?error=error.sso_no_email"


@pytest.mark.parametrize("address", ["stranger@elsewhere.example.com", "someone@sub.joiners.example.com"])
def test_an_address_that_is_not_a_member_is_refused(
    client: TestClient, idp: LocalOidcProvider, company: SsoCompany, address: str
) -> None:
    where, _ = sign_in(client, idp, company.slug, email=address)
    assert where == "/login?error=error.sso_not_member"


def test_a_member_of_another_company_is_refused(
    client: TestClient, idp: LocalOidcProvider, company: SsoCompany, owner_engine: Engine
) -> None:
    with Session(owner_engine) as db:
        db.execute(sa.text(RLS_BYPASS_SQL))
        other = db.exec(
            select(User).where(col(User.company_id) != company.company_id, col(User.company_id).is_not(None))
        ).first()
    if other is None:
        with Session(owner_engine, expire_on_commit=False) as setup:
            setup.execute(sa.text(RLS_BYPASS_SQL))
            elsewhere = make_company(setup, "Elsewhere Co")
            other = make_user(setup, elsewhere, Role.MANAGER)
            setup.commit()
    where, _ = sign_in(client, idp, company.slug, email=other.email)
    assert where == "/login?error=error.sso_not_member"


def test_an_invited_address_joins_with_the_invited_role(
    client: TestClient, idp: LocalOidcProvider, company: SsoCompany, owner_engine: Engine
) -> None:
    where, _ = sign_in(client, idp, company.slug, email="Invited.Client@sso.example.com", name="Ivy Invited")
    assert where == "/"
    with Session(owner_engine) as db:
        db.execute(sa.text(RLS_BYPASS_SQL))
        user = db.exec(select(User).where(User.email == "invited.client@sso.example.com")).one()
        assert (user.role, user.full_name, user.company_id) == (Role.CLIENT, "Ivy Invited", company.company_id)
        invitation = db.exec(select(Invitation).where(Invitation.email == "invited.client@sso.example.com")).one()
        assert invitation.accepted_at is not None


def test_the_join_domain_lets_verified_addresses_in_as_workers(
    client: TestClient, idp: LocalOidcProvider, company: SsoCompany, owner_engine: Engine
) -> None:
    where, _ = sign_in(client, idp, company.slug, email="new.joiner@joiners.example.com")
    assert where == "/"
    with Session(owner_engine) as db:
        db.execute(sa.text(RLS_BYPASS_SQL))
        user = db.exec(select(User).where(User.email == "new.joiner@joiners.example.com")).one()
        assert (user.role, user.full_name, user.company_id) == (Role.WORKER, "new.joiner", company.company_id)
        entry = db.exec(select(AuditLog).where(AuditLog.action == "member_joined_by_sso")).all()
        assert any(e.target_id == str(user.id) for e in entry)


def test_an_unknown_company_has_no_sso(client: TestClient) -> None:
    response = client.get("/api/auth/sso/start?company=no-such-company")
    assert response.headers["location"] == "/login/sso/no-such-company?error=error.sso_unknown"


def test_password_sign_in_can_be_turned_off_except_for_managers(
    client: TestClient, company: SsoCompany, owner_engine: Engine
) -> None:
    with Session(owner_engine) as db:
        db.execute(sa.text(RLS_BYPASS_SQL))
        db.execute(
            sa.update(SsoProvider).where(col(SsoProvider.company_id) == company.company_id).values(allow_password=False)
        )
        db.commit()
    refused = client.post("/api/auth/login", data={"email": company.worker, "password": PASSWORD})
    assert refused.headers["location"] == "/login?error=error.sso_only"
    wrong = client.post("/api/auth/login", data={"email": company.worker, "password": "not-the-password-1"})
    assert wrong.headers["location"] == "/login?error=error.bad_credentials"  # said only after the right one
    manager = client.post("/api/auth/login", data={"email": company.manager, "password": PASSWORD})
    assert manager.headers["location"] == "/"


# ---- configuration by a Manager (services) --------------------------------------------------


def test_a_manager_configures_the_provider(demo: Session, idp: LocalOidcProvider) -> None:
    from devtools.seed import DEMO_USERS

    manager = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
    _, actor = auth.login(demo, manager.email, manager.password)
    assert sso.sso_settings(demo, actor) is None
    common = {"name": "Acme IdP", "issuer": idp.issuer, "client_id": "acme", "allow_password": True, "join_domain": ""}
    with pytest.raises(ValidationFailed, match=r"error\.sso_secret_invalid"):
        sso.save_sso(demo, actor, client_secret="", **common)  # type: ignore[arg-type]
    for field, value, key in (
        ("issuer", "ftp://idp.example.com", "sso_issuer_invalid"),
        ("issuer", f"{idp.issuer}/nowhere", "sso_discovery_failed"),
        ("name", "   ", "sso_name_invalid"),
        ("join_domain", "not a domain", "sso_domain_invalid"),
    ):
        with pytest.raises(ValidationFailed, match=rf"error\.{key}"):
            sso.save_sso(demo, actor, client_secret="s3cret", **(common | {field: value}))  # type: ignore[arg-type]
    saved = sso.save_sso(demo, actor, client_secret="s3cret-value", **(common | {"join_domain": "@Acme.Example.com"}))  # type: ignore[arg-type]
    assert (saved.name, saved.join_domain, saved.sign_in_path) == ("Acme IdP", "acme.example.com", saved.sign_in_path)
    row = demo.exec(select(SsoProvider).where(SsoProvider.company_id == actor.company_id)).one()
    assert (
        "s3cret-value" not in row.client_secret_encrypted
        and crypto.decrypt(row.client_secret_encrypted) == "s3cret-value"
    )
    sso.save_sso(demo, actor, client_secret="", **common)  # type: ignore[arg-type]  # an empty secret keeps it
    demo.refresh(row)
    assert crypto.decrypt(row.client_secret_encrypted) == "s3cret-value"
    entries = demo.exec(select(AuditLog).where(AuditLog.action == "company_security_changed")).all()
    assert entries and all("s3cret" not in str(e.changes) for e in entries)
    sso.remove_sso(demo, actor)
    assert sso.sso_settings(demo, actor) is None


def test_outside_local_the_issuer_must_be_https_and_public(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.core.settings import get_settings

    settings = get_settings().model_copy(update={"env": "ci"})
    monkeypatch.setattr(sso, "get_settings", lambda: settings)
    for issuer in ("http://idp.example.com", "https://127.0.0.1", "https://localhost:8443", "https://10.1.2.3"):
        with pytest.raises(ValidationFailed, match=r"error\.sso_issuer_invalid"):
            sso._check_issuer(issuer)


def test_a_flow_expires(client: TestClient, idp: LocalOidcProvider, company: SsoCompany) -> None:
    from services.core.redis_client import get_redis

    idp.user = {"email": company.worker, "email_verified": True}
    callback = follow_to_callback(start(client, company.slug))
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert 0 < get_redis().ttl(sso._flow_key(state)) <= sso.FLOW_SECONDS
    get_redis().delete(sso._flow_key(state))  # what FLOW_SECONDS does
    assert client.get(callback).headers["location"] == "/login?error=error.sso_state_invalid"
    assert utcnow() - timedelta(seconds=1) < utcnow()
