"""Accounts: password and field rules, the company a sign-up creates (the flow itself is in
services/identity/signup.py) and password change.

Everything runs in the caller's transaction (system scope for sign-up, the actor's scope for the
password change) and never commits.
"""

from __future__ import annotations

import itertools
import re
import secrets
import string
import unicodedata
from functools import lru_cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from models import Company, CompanyStatus, Plan, SignupVerification, User
from services import audit
from services.audit import AuditAction, AuditTarget
from services.core import throttle
from services.core.access import access_by_id
from services.core.actor import Actor
from services.core.errors import Conflict, PermissionDenied, ServiceUnavailable, ValidationFailed
from services.core.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from services.core.policy import Action, authorize
from services.identity import auth

MAX_PASSWORD_LENGTH = auth.MAX_PASSWORD_LENGTH  # 1024
MIN_COMPANY_NAME_LENGTH = 2
MAX_COMPANY_NAME_LENGTH = 200
MAX_FULL_NAME_LENGTH = 200
MAX_SLUG_BASE_LENGTH = 60  # companies.slug holds 80: room for a "-123" or "-a1b2c3" suffix
PREFERRED_TRIAL_PLAN = "team"
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

# Slugs that may one day be URL segments of the app itself.
RESERVED_SLUGS = frozenset(
    {"admin", "api", "app", "assets", "auth", "billing", "companies", "dashboard", "login", "logout"}
    | {"portal", "projects", "settings", "signup", "static", "support", "system", "www", "_event", "_upload"}
)

# Bidirectional overrides and isolates: they make a name display as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_PADDING = string.digits + string.punctuation + " "

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g",
}  # fmt: skip


# ---- password rules ------------------------------------------------------------------------


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _is_trivial_pattern(lowered: str) -> bool:
    """One short unit repeated ("aaaa…", "abcabc…", "123123…") or a straight run ("abcdefghijklm")."""
    for unit in range(1, 5):
        if len(lowered) >= unit * 2 and (lowered[:unit] * (len(lowered) // unit + 1))[: len(lowered)] == lowered:
            return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(lowered)}
    return steps in ({1}, {-1})


def _is_common(lowered: str) -> bool:
    if lowered in common_passwords() or _is_trivial_pattern(lowered):
        return True
    # A common password with only digits or symbols around it ("dragon!2024", "123password!").
    core = lowered.strip(_PADDING)
    return bool(core) and core != lowered and (core in common_passwords() or _is_trivial_pattern(core))


def validate_password(password: str, *, email: str = "", name: str = "") -> None:
    """Raise ValidationFailed unless `password` is acceptable as a new password.

    At least MIN_PASSWORD_LENGTH (12) and at most 1024 characters; not a well-known password (or a
    well-known one padded with digits and symbols, or a trivial pattern); not the email, its local
    part or the person's name. The password itself is never changed (no trimming).
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed("error.password_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed("error.password_too_long")
    lowered = password.lower()
    if _is_common(lowered):
        raise ValidationFailed("error.password_too_common")
    bare = lowered.strip()
    email = (email or "").strip().lower()
    if email and bare in {email, email.rsplit("@", 1)[0]}:
        raise ValidationFailed("error.password_matches_email")
    name = " ".join((name or "").lower().split())
    if name and bare in {name, name.replace(" ", "")}:
        raise ValidationFailed("error.password_matches_name")


# ---- field rules ---------------------------------------------------------------------------


def _clean_name(value: str) -> str | None:
    """NFC, trimmed, inner whitespace collapsed; None when it holds control or bidi characters."""
    text = unicodedata.normalize("NFC", value if isinstance(value, str) else "")
    if any((unicodedata.category(ch) == "Cc" and ch not in " \t\n\r") or ch in _BIDI_CONTROLS for ch in text):
        return None
    return " ".join(text.split())


def normalize_company_name(value: str) -> str:
    name = _clean_name(value)
    if name is None:
        raise ValidationFailed("error.company_name_invalid")
    if len(name) < MIN_COMPANY_NAME_LENGTH:
        raise ValidationFailed("error.company_name_too_short")
    if len(name) > MAX_COMPANY_NAME_LENGTH:
        raise ValidationFailed("error.company_name_too_long")
    if not any(ch.isalnum() for ch in name):
        raise ValidationFailed("error.company_name_invalid")
    return name


def normalize_person_name(value: str) -> str:
    name = _clean_name(value)
    if name is None:
        raise ValidationFailed("error.full_name_invalid")
    if not name:
        raise ValidationFailed("error.full_name_required")
    if len(name) > MAX_FULL_NAME_LENGTH:
        raise ValidationFailed("error.full_name_too_long")
    return name


def normalize_signup_email(value: str) -> str:
    """Syntax only (no DNS lookups); lower-cased like every stored email."""
    raw = value.strip() if isinstance(value, str) else ""
    if not raw:
        raise ValidationFailed("error.email_required")
    if len(raw) > auth.MAX_EMAIL_LENGTH:
        raise ValidationFailed("error.invalid_email")
    try:
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("error.invalid_email") from exc
    return auth.normalize_email(result.normalized)


def slugify(name: str) -> str:
    """A URL-safe base slug: ASCII letters, digits and dashes (Cyrillic transliterated); "company" if nothing is left."""
    text = "".join(_CYRILLIC.get(ch, ch) for ch in name.lower())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    text = text[:MAX_SLUG_BASE_LENGTH].rstrip("-")
    return text or "company"


def _free_slug(session: Session, base: str) -> str:
    """`base`, or `base-2`, `base-3`, … : the first one no company uses (and not reserved)."""
    taken = set(
        session.exec(
            select(Company.slug).where(or_(col(Company.slug) == base, col(Company.slug).like(f"{base}-%")))
        ).all()
    )
    if base not in taken and base not in RESERVED_SLUGS:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def refuse_taken_email(session: Session, address: str) -> None:
    """Conflict("error.email_taken") when an account this session can see already has the address.
    An unverified sign-up is not an account (whoever proves the address replaces it)."""
    pending = select(SignupVerification.id).where(col(SignupVerification.user_id) == col(User.id))
    taken = select(User.id).where(func.lower(User.email) == address.lower(), ~pending.exists())
    if session.exec(taken).first() is not None:
        raise Conflict("error.email_taken")


def trial_plan(session: Session) -> Plan:
    """The plan a new company tries: the active "team" plan if there is one, else the cheapest active plan."""
    plans = session.exec(
        select(Plan).where(col(Plan.is_active).is_(True)).order_by(col(Plan.price_minor), col(Plan.code))
    ).all()
    if not plans:
        raise ServiceUnavailable("error.no_plans")
    return next((plan for plan in plans if plan.code == PREFERRED_TRIAL_PLAN), plans[0])


# ---- the company of a sign-up (services.identity.signup) -----------------------------------


def insert_company(session: Session, name: str) -> Company:
    """A new active company named `name` with the first free slug (retried when a parallel sign-up takes it)."""
    base = slugify(name)
    slug = _free_slug(session, base)
    for _ in range(5):
        company = Company(name=name, slug=slug, status=CompanyStatus.ACTIVE)
        try:
            with session.begin_nested():  # add inside: begin_nested() itself flushes what is pending
                session.add(company)
                session.flush()
        except IntegrityError:  # another sign-up took the slug between our look-up and the insert
            slug = f"{base}-{secrets.token_hex(3)}"
            continue
        return company
    raise Conflict("error.conflict")


# ---- password change -----------------------------------------------------------------------


def check_current_password(user: User, current_password: str) -> None:
    """A signed-in user confirms a sensitive change with the password, under the login throttle of the
    account (a stolen session must not become a password oracle): ValidationFailed
    ("error.current_password_required" / "error.current_password_wrong"), RateLimited."""
    if not isinstance(current_password, str) or not current_password:
        raise ValidationFailed("error.current_password_required")
    claim = throttle.begin((throttle.LOGIN_ACCOUNT, auth.normalize_email(user.email)))
    try:
        matches = (
            len(current_password) <= MAX_PASSWORD_LENGTH and verify_password(current_password, user.password_hash)[0]
        )
    except BaseException:
        throttle.refund_all(claim)
        raise
    if not matches:
        raise ValidationFailed("error.current_password_wrong")  # the attempt stays counted
    throttle.settle(claim, clear=claim.keys)


def change_password(
    session: Session, actor: Actor, *, current_password: str, new_password: str, current_token: str | None
) -> None:
    """Change the actor's own password and end every other session of theirs (the current one stays).

    The current password is checked under the login throttle of the account (a stolen session must
    not become a password oracle): ValidationFailed("error.current_password_wrong") when it is
    wrong, RateLimited when the account must wait. The new one must pass `validate_password` and
    differ from the current one. Audited as password_changed (without any password).
    """
    authorize(actor, Action.PASSWORD_CHANGE)
    user = access_by_id(session, actor, Action.PASSWORD_CHANGE, User, actor.user_id)
    if not user.is_active:
        raise PermissionDenied()
    if not isinstance(current_password, str) or not current_password:
        raise ValidationFailed("error.current_password_required")
    if not isinstance(new_password, str):
        raise ValidationFailed("error.password_too_short")
    validate_password(new_password, email=user.email, name=user.full_name)

    check_current_password(user, current_password)
    if new_password == current_password:
        raise ValidationFailed("error.password_unchanged")

    user.password_hash = hash_password(new_password)
    session.add(user)
    session.flush()
    keep = auth.session_id_for_token(session, current_token, user.id)
    ended = auth.revoke_user_sessions(session, user.id, reason="password_changed", actor=actor, keep_session_id=keep)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.PASSWORD_CHANGED,
        company_id=user.company_id,
        target_type=AuditTarget.USER,
        target_id=user.id,
        changes={"other_sessions_ended": ended},
    )
