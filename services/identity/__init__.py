"""Identity: sign-in, sessions, accounts (password change) and verification-first sign-up.

This module is the domain's public surface: other domains and the UI import only these names.
"""

from services.identity.accounts import (
    MAX_COMPANY_NAME_LENGTH,
    MAX_FULL_NAME_LENGTH,
    change_password,
    normalize_person_name,
    normalize_signup_email,
    refuse_taken_email,
    validate_password,
)
from services.identity.auth import (
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_TOKEN_LENGTH,
    SessionInfo,
    actor_for,
    hash_token,
    list_sessions,
    login,
    logout,
    logout_all,
    open_session,
    resolve_actor,
    resolve_session,
    revoke_company_sessions,
    revoke_session,
    revoke_user_sessions,
    session_cookie_name,
    session_max_age_seconds,
)
from services.identity.jobs import expire_sign_ups, purge_sessions
from services.identity.signup import (
    SignupPreview,
    describe_sign_up,
    discard_pending_sign_up,
    sign_up,
    verify_sign_up,
)

__all__ = [
    "MAX_COMPANY_NAME_LENGTH",
    "MAX_EMAIL_LENGTH",
    "MAX_FULL_NAME_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "MAX_TOKEN_LENGTH",
    "SessionInfo",
    "SignupPreview",
    "actor_for",
    "change_password",
    "describe_sign_up",
    "discard_pending_sign_up",
    "expire_sign_ups",
    "hash_token",
    "list_sessions",
    "login",
    "logout",
    "logout_all",
    "normalize_person_name",
    "normalize_signup_email",
    "open_session",
    "purge_sessions",
    "refuse_taken_email",
    "resolve_actor",
    "resolve_session",
    "revoke_company_sessions",
    "revoke_session",
    "revoke_user_sessions",
    "session_cookie_name",
    "session_max_age_seconds",
    "sign_up",
    "validate_password",
    "verify_sign_up",
]
