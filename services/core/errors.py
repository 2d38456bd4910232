"""Typed errors the UI turns into clear messages. NotFound is also what "not yours" looks like."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: the message is safe to show to the user (a translation key or plain text)."""

    message_key = "error.generic"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message_key)
        self.message = message or self.message_key


class NotFound(ServiceError):
    message_key = "error.not_found"


class PermissionDenied(ServiceError):
    message_key = "error.permission_denied"


class ValidationFailed(ServiceError):
    message_key = "error.invalid_input"


class CompanyReadOnly(ServiceError):
    """The company is read-only (trial over, subscription ended or unpaid): subscribe to write again."""

    message_key = "error.company_read_only"


class LimitReached(ServiceError):
    """The plan's limit is reached; the message names the limit and offers the upgrade."""

    message_key = "error.limit_reached"


class AuthenticationFailed(ServiceError):
    message_key = "error.bad_credentials"


class Conflict(ServiceError):
    message_key = "error.conflict"


class ServiceUnavailable(ServiceError):
    message_key = "error.unavailable"


class RateLimited(ServiceError):
    """Too many attempts: the caller must wait `retry_after` seconds (the UI shows "try again in N seconds")."""

    message_key = "error.too_many_attempts"

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after_seconds))
