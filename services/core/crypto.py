"""Encryption of secrets the database must keep readable (two-factor keys, SSO client secrets): Fernet (AES-128-CBC with
an HMAC-SHA256 tag) under ENCRYPTION_KEY, or a key derived from SECRET_KEY when that is unset.

A value that does not decrypt (another key, a tampered row) raises ServiceUnavailable: the caller
cannot tell a wrong code from an unreadable key, so it must not answer as if the code were wrong.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from services.core.errors import ServiceUnavailable
from services.core.settings import get_settings

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _fernet(key_material: str, derived: bool) -> Fernet:
    if derived:
        digest = hashlib.sha256(b"workdash-encryption\x00" + key_material.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))
    return Fernet(key_material.encode())


def _current() -> Fernet:
    settings = get_settings()
    if settings.encryption_key is not None:
        return _fernet(settings.encryption_key.get_secret_value(), False)
    return _fernet(settings.secret_key.get_secret_value(), True)


def encrypt(text: str) -> str:
    return _current().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        log.error("a stored secret does not decrypt under the current ENCRYPTION_KEY")
        raise ServiceUnavailable("error.secret_unreadable") from exc
