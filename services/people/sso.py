"""Single sign-on through a company's own OpenID Connect provider (authorization-code flow with PKCE).

Configuration (a Manager, COMPANY_SECURITY_EDIT): one provider per company: a display name, the issuer
(its discovery document is fetched and must name the same issuer), the client id and secret (stored
encrypted under ENCRYPTION_KEY, never shown again), whether password sign-in stays allowed for members
other than Managers (identity refuses it otherwise), and optionally a domain whose addresses may join
as Workers. Outside local/test the issuer must be https on a public address (the server fetches it).

Sign-in (no actor yet: system scope), from the company's sign-in page /login/sso/<slug>:
1. `begin_sso`: random `state`, `nonce` and PKCE verifier kept in Redis for FLOW_SECONDS under the
   state's SHA-256; the browser gets the state in an HttpOnly cookie too and goes to the provider.
2. `complete_sso`: the callback's state must equal the cookie's (this browser started it) and name a
   live flow, which is taken (GETDEL: a replayed callback finds nothing). The code is exchanged with
   the verifier and the client secret; the id token's signature (the provider's JWKS) and claims (iss,
   aud, exp, iat, nonce, azp, at_hash) are checked with authlib's CodeIDToken; the e-mail must be
   there and `email_verified` true.
3. Who may come in, whatever the provider says: an active member of this company with that address;
   a live invitation of this company to it (accepted: the invited role and projects); or, when the
   company set a join domain, an address of that domain, who joins as a Worker. Anybody else, and any
   address that belongs to another company or the operator, is refused.
The session opens with method "sso"; the provider's own second factor stands in for ours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import authlib.deprecate  # noqa: F401 - first: its own 'always' filter must sit behind ours below
import httpx
import redis
import sqlalchemy as sa
from joserfc.errors import JoseError as JoserfcError
from sqlmodel import Session, col, select

from models import Company, CompanyStatus, Invitation, Role, SsoProvider, User
from services import audit, billing, identity
from services.audit import AuditAction, AuditTarget
from services.core import clock, crypto, mailer
from services.core.access import access_by_id, company_id_of
from services.core.actor import Actor
from services.core.errors import AuthenticationFailed, NotFound, ServiceUnavailable, ValidationFailed
from services.core.passwords import hash_password
from services.core.policy import Action
from services.core.redis_client import get_redis
from services.core.settings import get_settings
from services.people.invitations import join_by_invitation

with warnings.catch_warnings():  # authlib.jose announces its successor; it is what authlib's own clients use today
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import JoseError
    from authlib.oidc.core import CodeIDToken

log = logging.getLogger(__name__)

FLOW_PREFIX = "wd:sso:"
FLOW_SECONDS = 600
HTTP_TIMEOUT_SECONDS = 10.0
METADATA_SECONDS = 300  # discovery documents and key sets are cached this long per process
SCOPES = "openid email profile"
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]  # never "none", never HS*
MAX_NAME_LENGTH = 80
MAX_ISSUER_LENGTH = 500
MAX_CLIENT_ID_LENGTH = 255
MAX_SECRET_LENGTH = 1000
MAX_STATE_LENGTH = 128
MAX_CODE_LENGTH = 2048
CALLBACK_PATH = "/api/auth/sso/callback"
LOCAL_ENVIRONMENTS = ("local", "test")

_cache: dict[str, tuple[float, Any]] = {}


@dataclass(frozen=True)
class SsoSettings:
    name: str
    issuer: str
    client_id: str
    allow_password: bool
    join_domain: str
    sign_in_path: str


@dataclass(frozen=True)
class SsoEntry:
    """What a company's sign-in page shows: the provider's name (the button)."""

    name: str
    slug: str


@dataclass(frozen=True)
class SsoStart:
    url: str  # the provider's authorization endpoint with our request
    state: str  # for the browser's cookie


def sign_in_path(slug: str) -> str:
    return f"/login/sso/{slug}"


def callback_url() -> str:
    return mailer.app_link(CALLBACK_PATH)


# ---- configuration (Managers) -----------------------------------------------------------------


def sso_settings(session: Session, actor: Actor) -> SsoSettings | None:
    company = _own_company(session, actor)
    provider = _provider_of(session, company.id)
    return None if provider is None else _settings(provider, company)


def save_sso(
    session: Session,
    actor: Actor,
    *,
    name: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    allow_password: bool,
    join_domain: str,
) -> SsoSettings:
    """Create or change the company's provider. An empty `client_secret` keeps the stored one.
    ValidationFailed names the first bad field; the issuer's discovery document must load."""
    company = _own_company(session, actor, for_update=True)
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed("error.sso_name_invalid")
    issuer = _check_issuer(issuer)
    client_id = client_id.strip() if isinstance(client_id, str) else ""
    if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
        raise ValidationFailed("error.sso_client_id_invalid")
    if not isinstance(client_secret, str) or len(client_secret) > MAX_SECRET_LENGTH:
        raise ValidationFailed("error.sso_secret_invalid")
    join_domain = _check_domain(join_domain)
    provider = _provider_of(session, company.id)
    if provider is None and not client_secret:
        raise ValidationFailed("error.sso_secret_invalid")
    _metadata(issuer, fresh=True)  # the provider must answer now, not at the first sign-in
    if provider is None:
        provider = SsoProvider(
            company_id=company.id, name=name, issuer=issuer, client_id=client_id, client_secret_encrypted=""
        )
    before = {"name": provider.name, "issuer": provider.issuer, "client_id": provider.client_id}
    provider.name, provider.issuer, provider.client_id = name, issuer, client_id
    provider.allow_password, provider.join_domain = bool(allow_password), join_domain
    if client_secret:
        provider.client_secret_encrypted = crypto.encrypt(client_secret)
    session.add(provider)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.COMPANY_SECURITY_CHANGED,
        company_id=company.id,
        target_type=AuditTarget.COMPANY,
        target_id=company.id,
        changes={
            "sso": {"name": name, "issuer": issuer, "client_id": client_id},
            "sso_before": before,
            "secret_changed": bool(client_secret),
            "allow_password": provider.allow_password,
            "join_domain": join_domain,
        },
    )
    return _settings(provider, company)


def remove_sso(session: Session, actor: Actor) -> None:
    company = _own_company(session, actor, for_update=True)
    provider = _provider_of(session, company.id)
    if provider is None:
        raise NotFound()
    session.delete(provider)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.COMPANY_SECURITY_CHANGED,
        company_id=company.id,
        target_type=AuditTarget.COMPANY,
        target_id=company.id,
        changes={"sso": None},
    )


# ---- sign-in (system scope) -------------------------------------------------------------------


def describe_sso(session: Session, slug: str) -> SsoEntry:
    """The provider of an active company's sign-in page, or NotFound("error.sso_unknown")."""
    provider, company = _provider_by_slug(session, slug)
    return SsoEntry(name=provider.name, slug=company.slug)


def begin_sso(session: Session, slug: str) -> SsoStart:
    provider, _company = _provider_by_slug(session, slug)
    metadata = _metadata(provider.issuer)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    flow = {"provider": str(provider.id), "nonce": nonce, "verifier": verifier}
    try:
        get_redis().set(_flow_key(state), json.dumps(flow), ex=FLOW_SECONDS)
    except redis.RedisError as exc:
        raise ServiceUnavailable() from exc
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": callback_url(),
            "scope": SCOPES,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    endpoint = str(metadata["authorization_endpoint"])
    return SsoStart(url=f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state=state)


def complete_sso(
    session: Session,
    *,
    state: str,
    browser_state: str | None,
    code: str,
    ip: str = "",
    user_agent: str = "",
    previous_token: str | None = None,
) -> tuple[str, Actor]:
    """The callback: (session token, Actor), or AuthenticationFailed with a key saying why."""
    if (
        not state
        or len(state) > MAX_STATE_LENGTH
        or not browser_state
        or not hmac.compare_digest(state.encode(), browser_state.encode())
    ):
        raise AuthenticationFailed("error.sso_state_invalid")
    flow = _take_flow(state)
    if flow is None:
        raise AuthenticationFailed("error.sso_state_invalid")
    provider = session.get(SsoProvider, uuid.UUID(flow["provider"]))
    company = session.get(Company, provider.company_id) if provider is not None else None
    if provider is None or company is None or company.status is not CompanyStatus.ACTIVE:
        raise AuthenticationFailed("error.sso_unknown")
    if not code or len(code) > MAX_CODE_LENGTH:
        raise AuthenticationFailed("error.sso_failed")
    claims = _id_token_claims(provider, code, flow["verifier"], flow["nonce"])
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise AuthenticationFailed("error.sso_no_email")
    if claims.get("email_verified") not in (True, "true"):
        raise AuthenticationFailed("error.sso_email_unverified")
    address = email.strip().lower()
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    return _enter(
        session,
        provider,
        company,
        address,
        str(name or ""),
        ip=ip,
        user_agent=user_agent,
        previous_token=previous_token,
    )


# ---- internals --------------------------------------------------------------------------------


def _enter(
    session: Session,
    provider: SsoProvider,
    company: Company,
    address: str,
    name: str,
    *,
    ip: str,
    user_agent: str,
    previous_token: str | None,
) -> tuple[str, Actor]:
    """Who may come in (module docstring, 3.) and their session."""
    user = session.exec(select(User).where(sa.func.lower(User.email) == address)).first()
    if user is not None:
        if user.company_id != company.id or not user.is_active:
            raise AuthenticationFailed("error.sso_not_member")
        identity.logout(session, previous_token, ip=ip, user_agent=user_agent)
        token = identity.open_session(session, user, ip=ip, user_agent=user_agent, method="sso", company=company)
        return token, identity.actor_for(user, company, ip=ip, user_agent=user_agent)
    full_name = _person_name(name, address)
    unusable_password = hash_password(secrets.token_urlsafe(32))  # SSO members sign in through the provider
    invitation = session.exec(
        select(Invitation)
        .where(
            col(Invitation.company_id) == company.id,
            sa.func.lower(Invitation.email) == address,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
            col(Invitation.expires_at) > clock.now(),
        )
        .order_by(col(Invitation.created_at).desc())
        .with_for_update()
    ).first()
    if invitation is not None:
        identity.logout(session, previous_token, ip=ip, user_agent=user_agent)
        return join_by_invitation(
            session,
            invitation,
            company,
            full_name=full_name,
            password_hash=unusable_password,
            method="sso",
            ip=ip,
            user_agent=user_agent,
        )
    if not provider.join_domain or address.rpartition("@")[2] != provider.join_domain:
        raise AuthenticationFailed("error.sso_not_member")
    identity.discard_pending_sign_up(session, address)
    identity.refuse_taken_email(session, address)
    billing.check_seat_limit(session, company.id)
    user = User(
        company_id=company.id,
        email=address,
        full_name=full_name,
        password_hash=unusable_password,
        role=Role.WORKER,
        is_active=True,
    )
    session.add(user)
    session.flush()
    identity.logout(session, previous_token, ip=ip, user_agent=user_agent)
    token = identity.open_session(session, user, ip=ip, user_agent=user_agent, method="sso", company=company)
    actor = identity.actor_for(user, company, ip=ip, user_agent=user_agent)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.MEMBER_JOINED_BY_SSO,
        company_id=company.id,
        target_type=AuditTarget.USER,
        target_id=user.id,
        changes={"email": address, "role": Role.WORKER.value, "domain": provider.join_domain},
    )
    return token, actor


def _person_name(name: str, address: str) -> str:
    try:
        return identity.normalize_person_name(name[: identity.MAX_FULL_NAME_LENGTH])
    except ValidationFailed:
        return address.partition("@")[0][: identity.MAX_FULL_NAME_LENGTH] or address


def _id_token_claims(provider: SsoProvider, code: str, verifier: str, nonce: str) -> dict[str, Any]:
    metadata = _metadata(provider.issuer)
    secret = crypto.decrypt(provider.client_secret_encrypted)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": callback_url(),
        "code_verifier": verifier,
        "client_id": provider.client_id,
    }
    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth: tuple[str, str] | None = None
    if "client_secret_post" in methods and "client_secret_basic" not in methods:
        data["client_secret"] = secret
    else:
        auth = (provider.client_id, secret)
    try:
        response = httpx.post(
            str(metadata["token_endpoint"]), data=data, auth=auth, timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        log.warning("sso: token endpoint of %s failed: %s", provider.issuer, exc)
        raise AuthenticationFailed("error.sso_failed") from exc
    if response.status_code != 200:
        log.info("sso: %s refused the code (%s)", provider.issuer, response.status_code)
        raise AuthenticationFailed("error.sso_failed")  # a replayed or expired code ends here
    try:
        answer = response.json()
        id_token, access_token = answer["id_token"], answer.get("access_token")
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthenticationFailed("error.sso_failed") from exc
    keys = JsonWebKey.import_key_set(_get_json(str(metadata["jwks_uri"]), provider.issuer))
    try:
        claims = JsonWebToken(ID_TOKEN_ALGORITHMS).decode(
            id_token,
            key=keys,
            claims_cls=CodeIDToken,
            claims_options={
                "iss": {"essential": True, "value": provider.issuer},
                "aud": {"essential": True, "value": provider.client_id},  # authlib checks aud only when told
            },
            claims_params={"nonce": nonce, "client_id": provider.client_id, "access_token": access_token},
        )
        claims.validate(now=int(clock.now().timestamp()), leeway=60)
    except (JoseError, JoserfcError, ValueError) as exc:  # authlib's claims checks raise joserfc's errors
        log.warning("sso: an id token from %s was refused: %s", provider.issuer, exc)
        raise AuthenticationFailed("error.sso_token_invalid") from exc
    return dict(claims)


def _metadata(issuer: str, *, fresh: bool = False) -> dict[str, Any]:
    """The issuer's discovery document (cached), which must name the same issuer and the endpoints."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    cached = _cache.get(url)
    if cached is not None and not fresh and cached[0] > time.monotonic():
        return dict(cached[1])
    document = _get_json(url, issuer)
    needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/") or not all(
        isinstance(document.get(k), str) for k in needed
    ):
        raise ValidationFailed("error.sso_discovery_failed")
    _cache[url] = (time.monotonic() + METADATA_SECONDS, document)
    return document


def _get_json(url: str, issuer: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("sso: %s of %s could not be read: %s", url, issuer, exc)
        raise ValidationFailed("error.sso_discovery_failed") from exc
    if not isinstance(document, dict):
        raise ValidationFailed("error.sso_discovery_failed")
    return document


def _check_issuer(issuer: str) -> str:
    issuer = issuer.strip() if isinstance(issuer, str) else ""
    try:
        parts = urlsplit(issuer)
    except ValueError:
        raise ValidationFailed("error.sso_issuer_invalid") from None
    local = get_settings().env in LOCAL_ENVIRONMENTS
    schemes = ("https", "http") if local else ("https",)
    if len(issuer) > MAX_ISSUER_LENGTH or parts.scheme not in schemes or not parts.hostname or parts.query:
        raise ValidationFailed("error.sso_issuer_invalid")
    if parts.username or parts.password or parts.fragment:
        raise ValidationFailed("error.sso_issuer_invalid")
    if not local and not _public_host(parts.hostname):
        raise ValidationFailed("error.sso_issuer_invalid")  # the server fetches it: no internal addresses
    return issuer


def _public_host(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    return bool(addresses) and all(a.is_global for a in addresses)


def _check_domain(domain: str) -> str:
    domain = domain.strip().lower().lstrip("@") if isinstance(domain, str) else ""
    if not domain:
        return ""
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii() for label in labels)
    ):
        raise ValidationFailed("error.sso_domain_invalid")
    return domain


def _own_company(session: Session, actor: Actor, *, for_update: bool = False) -> Company:
    return access_by_id(
        session, actor, Action.COMPANY_SECURITY_EDIT, Company, company_id_of(actor), for_update=for_update
    )


def _provider_of(session: Session, company_id: uuid.UUID) -> SsoProvider | None:
    return session.exec(select(SsoProvider).where(col(SsoProvider.company_id) == company_id)).first()


def _provider_by_slug(session: Session, slug: str) -> tuple[SsoProvider, Company]:
    if not isinstance(slug, str) or not slug or len(slug) > 80:
        raise NotFound("error.sso_unknown")
    row = session.exec(
        select(SsoProvider, Company)
        .join(Company, col(Company.id) == col(SsoProvider.company_id))
        .where(col(Company.slug) == slug, col(Company.status) == CompanyStatus.ACTIVE)
    ).first()
    if row is None:
        raise NotFound("error.sso_unknown")
    return row[0], row[1]


def _settings(provider: SsoProvider, company: Company) -> SsoSettings:
    return SsoSettings(
        name=provider.name,
        issuer=provider.issuer,
        client_id=provider.client_id,
        allow_password=provider.allow_password,
        join_domain=provider.join_domain,
        sign_in_path=sign_in_path(company.slug),
    )


def _flow_key(state: str) -> str:
    return FLOW_PREFIX + hashlib.sha256(state.encode()).hexdigest()


def _take_flow(state: str) -> dict[str, str] | None:
    try:
        raw = get_redis().getdel(_flow_key(state))
    except redis.RedisError as exc:
        raise ServiceUnavailable() from exc
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
