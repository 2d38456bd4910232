"""Two-factor sign-in mechanics: TOTP keys (RFC 6238, 30-second steps, 6 digits), recovery codes,
trusted browsers and the pending sign-ins between the password and the second step.

- Keys: made here (160 random bits), stored encrypted (services/core/crypto.py), shown to their owner
  once as a QR code rendered on this server (an SVG data: URI: the key never reaches a third party)
  and as text. A code is accepted for the step before, the current and the next one (clock drift),
  and only for a step later than the last accepted one: under a row lock, so the same code is never
  accepted twice, even by two requests at once.
- Recovery codes: RECOVERY_CODES of 80 random bits each ("abcd-efgh-ijkl-mnop", base32), stored as
  SHA-256, single use. Made together with the key and usable once the key is confirmed.
- Trusted browsers: a random token in an HttpOnly cookie (30 days), its SHA-256 in `trusted_browsers`.
- Pending sign-ins: after a right password, when a second step is due, a random token in a short-lived
  HttpOnly cookie names a Redis entry (PENDING_SECONDS) with the user and whether a code is asked or an
  enrolment is due. It is not a session: it opens nothing, and it is taken (GETDEL) by the one request
  that completes it.

Everything runs in the caller's transaction and never commits. Who may call: services/identity/auth.py
(the sign-in) and services/identity/two_factor.py (the account page), which authorise first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
import redis
import segno
import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import Company, RecoveryCode, Role, TrustedBrowser, TwoFactorCredential, User
from services.core import clock, crypto
from services.core.errors import Conflict, ServiceUnavailable
from services.core.redis_client import get_redis
from services.core.settings import get_settings

ISSUER = "Workdash"
STEP_SECONDS = 30
DIGITS = 6
RECOVERY_CODES = 10
MAX_CODE_LENGTH = 64  # whatever is pasted: a code is 6 digits, a recovery code 19 characters
TRUST_DAYS = 30
PENDING_SECONDS = 600  # enough to find the phone and scan a QR code
PENDING_PREFIX = "wd:signin:"
# Outside these environments the operator's accounts must have a second factor.
OPERATOR_OPTIONAL_ENVIRONMENTS = ("local", "test")


class SecondStep(StrEnum):
    CODE = "code"  # the user has a confirmed key: ask for a code (or a recovery code)
    ENROL = "enrol"  # two-factor is required and the user has none yet: set it up now


@dataclass(frozen=True)
class Enrolment:
    """What the owner sees once while setting two-factor up."""

    secret: str  # base32, for typing in by hand
    uri: str  # otpauth://…
    qr_data_uri: str  # data:image/svg+xml,…
    recovery_codes: tuple[str, ...]


@dataclass(frozen=True)
class Pending:
    user_id: uuid.UUID
    step: SecondStep


# ---- who needs what ----------------------------------------------------------------------------


def is_required(user: User, company: Company | None) -> bool:
    """Must this user sign in with a second factor? The company's choice, or always for the operator
    outside local and test."""
    if user.role is Role.ADMIN:
        return get_settings().env not in OPERATOR_OPTIONAL_ENVIRONMENTS
    return company is not None and company.require_two_factor


def credential(session: Session, user_id: uuid.UUID, *, lock: bool = False) -> TwoFactorCredential | None:
    query = select(TwoFactorCredential).where(col(TwoFactorCredential.user_id) == user_id)
    return session.exec(query.with_for_update() if lock else query).first()


def is_enabled(session: Session, user_id: uuid.UUID) -> bool:
    found = credential(session, user_id)
    return found is not None and found.confirmed_at is not None


def second_step_for(
    session: Session, user: User, company: Company | None, trusted_cookie: str | None
) -> SecondStep | None:
    """What a right password still needs before a session opens: a code, an enrolment, or nothing
    (no second factor and none required, or a browser the user trusted)."""
    if is_enabled(session, user.id):
        return None if is_trusted(session, user.id, trusted_cookie) else SecondStep.CODE
    return SecondStep.ENROL if is_required(user, company) else None


# ---- keys and codes ----------------------------------------------------------------------------


def begin_enrolment(session: Session, user: User, *, reuse_within: timedelta | None = None) -> Enrolment:
    """A key and new recovery codes for `user` (Conflict when a confirmed key exists: turn it off first).

    The key is new, replacing an unconfirmed one, unless `reuse_within` is given and the unconfirmed
    key was made that recently (the second step's page shown again after a wrong first code: the key
    already scanned stays). The recovery codes are always new: unconfirmed, none of them works yet.
    """
    found = credential(session, user.id, lock=True)
    if found is not None and found.confirmed_at is not None:
        raise Conflict("error.two_factor_already_on")
    now = clock.now()
    if found is not None and reuse_within is not None and now - found.created_at < reuse_within:
        secret = crypto.decrypt(found.secret_encrypted)
    else:
        secret = pyotp.random_base32()
        if found is None:
            found = TwoFactorCredential(company_id=user.company_id, user_id=user.id, secret_encrypted="")
        found.secret_encrypted = crypto.encrypt(secret)
        found.last_used_step = 0
        found.created_at = now
    session.add(found)
    codes = replace_recovery_codes(session, user)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    qr = segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
    return Enrolment(secret=secret, uri=uri, qr_data_uri=qr, recovery_codes=codes)


def confirm_enrolment(session: Session, user_id: uuid.UUID, code: str) -> bool:
    """Turn the pending key on if `code` is one of its current codes; False otherwise (nothing changes)."""
    found = credential(session, user_id, lock=True)
    if found is None or found.confirmed_at is not None or not _accept_code(found, code):
        return False
    found.confirmed_at = clock.now()
    session.add(found)
    session.flush()
    return True


def verify_code(session: Session, user_id: uuid.UUID, code: str) -> bool:
    """A current code of the user's confirmed key, never accepted before (the step is recorded)."""
    found = credential(session, user_id, lock=True)
    if found is None or found.confirmed_at is None or not _accept_code(found, code):
        return False
    session.add(found)
    session.flush()
    return True


def use_recovery_code(session: Session, user_id: uuid.UUID, code: str) -> bool:
    """Spend one unused recovery code of a user whose key is confirmed."""
    normalized = _normalize_recovery(code)
    if normalized is None or not is_enabled(session, user_id):
        return False
    row = session.exec(
        select(RecoveryCode)
        .where(
            col(RecoveryCode.user_id) == user_id,
            col(RecoveryCode.code_hash) == _hash(normalized),
            col(RecoveryCode.used_at).is_(None),
        )
        .with_for_update()
    ).first()
    if row is None:
        return False
    row.used_at = clock.now()
    session.add(row)
    session.flush()
    return True


def verify_code_or_recovery(session: Session, user_id: uuid.UUID, code: str) -> str | None:
    """Which kind of second factor `code` was ("totp" or "recovery_code"), or None when it is neither."""
    if not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
        return None
    if verify_code(session, user_id, code):
        return "totp"
    if use_recovery_code(session, user_id, code):
        return "recovery_code"
    return None


def recovery_codes_left(session: Session, user_id: uuid.UUID) -> int:
    query = select(sa.func.count()).where(col(RecoveryCode.user_id) == user_id, col(RecoveryCode.used_at).is_(None))
    return int(session.exec(query).one())


def replace_recovery_codes(session: Session, user: User) -> tuple[str, ...]:
    """RECOVERY_CODES new codes for `user` (the old ones are deleted); only their hashes are kept."""
    session.execute(sa.delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    codes = tuple(_new_recovery_code() for _ in range(RECOVERY_CODES))
    for code in codes:
        session.add(RecoveryCode(company_id=user.company_id, user_id=user.id, code_hash=_hash(_bare(code))))
    session.flush()
    return codes


def remove(session: Session, user_id: uuid.UUID) -> None:
    """Turn two-factor off for the user: the key, the recovery codes and every trusted browser go."""
    for model in (TwoFactorCredential, RecoveryCode, TrustedBrowser):
        session.execute(sa.delete(model).where(col(model.user_id) == user_id))


def current_code(secret: str, moment: datetime | None = None) -> str:
    """The code of `secret` at `moment` (now): for tests and the seed's demo accounts."""
    return pyotp.TOTP(secret).at(moment or clock.now())


def _accept_code(found: TwoFactorCredential, code: str) -> bool:
    digits = "".join(code.split()) if isinstance(code, str) else ""
    if len(digits) != DIGITS or not digits.isdigit():
        return False
    totp = pyotp.TOTP(crypto.decrypt(found.secret_encrypted))
    now_step = int(clock.now().timestamp()) // STEP_SECONDS
    for step in (now_step - 1, now_step, now_step + 1):
        if step > found.last_used_step and hmac.compare_digest(totp.generate_otp(step), digits):
            found.last_used_step = step
            return True
    return False


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 16 characters, 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _bare(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _normalize_recovery(code: str) -> str | None:
    if not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
        return None
    bare = _bare(code)
    return bare if len(bare) == 16 else None


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# ---- trusted browsers --------------------------------------------------------------------------


def trust_browser(session: Session, user: User, *, ip: str, user_agent: str) -> str:
    """Remember this browser for TRUST_DAYS; returns the cookie's token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        TrustedBrowser(
            company_id=user.company_id,
            user_id=user.id,
            token_hash=_hash(token),
            ip=ip[:64],
            user_agent=user_agent[:512],
            created_at=now,
            expires_at=now + timedelta(days=TRUST_DAYS),
        )
    )
    session.flush()
    return token


def is_trusted(session: Session, user_id: uuid.UUID, cookie: str | None) -> bool:
    if not cookie or len(cookie) > 128:
        return False
    row = session.exec(select(TrustedBrowser).where(col(TrustedBrowser.token_hash) == _hash(cookie))).first()
    return row is not None and row.user_id == user_id and row.revoked_at is None and clock.now() < row.expires_at


def active_trusted_browsers(session: Session, user_id: uuid.UUID) -> list[TrustedBrowser]:
    """The user's trusted browsers that still skip the second step, newest first."""
    query = (
        select(TrustedBrowser)
        .where(
            col(TrustedBrowser.user_id) == user_id,
            col(TrustedBrowser.revoked_at).is_(None),
            col(TrustedBrowser.expires_at) > clock.now(),
        )
        .order_by(col(TrustedBrowser.created_at).desc())
    )
    return list(session.exec(query).all())


# ---- pending sign-ins --------------------------------------------------------------------------


def begin_pending(user_id: uuid.UUID, step: SecondStep) -> str:
    """A pending sign-in for `user_id`; returns its token (for the cookie)."""
    token = secrets.token_urlsafe(32)
    value = json.dumps({"user": str(user_id), "step": step.value})
    try:
        get_redis().set(_pending_key(token), value, ex=PENDING_SECONDS)
    except redis.RedisError as exc:
        raise ServiceUnavailable() from exc
    return token


def pending(token: str | None) -> Pending | None:
    """The pending sign-in behind `token`, or None (unknown, expired or already completed)."""
    return _read_pending(token, take=False)


def take_pending(token: str | None) -> Pending | None:
    """Like `pending`, and the entry is gone: only one request can complete a sign-in."""
    return _read_pending(token, take=True)


def _read_pending(token: str | None, *, take: bool) -> Pending | None:
    if not token or len(token) > 128:
        return None
    try:
        client = get_redis()
        raw = client.getdel(_pending_key(token)) if take else client.get(_pending_key(token))
    except redis.RedisError as exc:
        raise ServiceUnavailable() from exc
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return Pending(user_id=uuid.UUID(data["user"]), step=SecondStep(data["step"]))
    except (ValueError, KeyError, TypeError):
        return None


def _pending_key(token: str) -> str:
    return PENDING_PREFIX + hashlib.sha256(token.encode()).hexdigest()
