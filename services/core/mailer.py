"""Outgoing mail: plain-text messages through SMTP, or into a Redis outbox in local development.

`send_mail` is synchronous and raises `ServiceUnavailable("error.mail_failed")` when the message
could not be handed over. Callers send *after* flushing their rows but *inside* their transaction:
a failure then rolls the whole operation back (an invitation never exists without its mail). The
remaining window — the mail went out but the commit failed — leaves a link that leads nowhere,
which is harmless (the invitee sees "invalid link" and the manager invites again).

The outbox backend (`MAIL_BACKEND=outbox`, the default in `local`) sends nothing: it keeps the
latest `OUTBOX_SIZE` messages in the Redis list `OUTBOX_KEY` (newest first), which the operator
reads on the dev outbox page (`read_outbox`, local and test environments only).
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import redis

from services.core import clock
from services.core.actor import Actor
from services.core.errors import PermissionDenied, ServiceUnavailable, ValidationFailed
from services.core.policy import Action, authorize
from services.core.redis_client import get_redis
from services.core.settings import get_settings

log = logging.getLogger("workdash.mailer")

OUTBOX_KEY = "workdash:outbox"
OUTBOX_SIZE = 200
OUTBOX_ENVIRONMENTS = ("local", "test")
SMTP_TIMEOUT_SECONDS = 15.0
MAX_SUBJECT_LENGTH = 300
MAX_BODY_LENGTH = 100_000
MAIL_FAILED = "error.mail_failed"


@dataclass(frozen=True)
class OutboxMessage:
    to: str
    subject: str
    body: str
    sent_at: datetime


def app_link(path: str) -> str:
    """An absolute link into the app for a mail body (`path` starts with "/")."""
    return get_settings().public_url.rstrip("/") + path


def mail_time(moment: datetime) -> str:
    """A moment as mails show it: unambiguous for any reader, whatever their time zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def send_mail(to: str, subject: str, text_body: str) -> None:
    """Send one plain-text message to one recipient through the configured backend."""
    to, subject = _check_headers(to, subject)
    if len(text_body) > MAX_BODY_LENGTH:
        raise ValidationFailed("error.mail_too_long")
    if get_settings().mail_backend == "outbox":
        _store_in_outbox(to, subject, text_body)
    else:
        _send_smtp(to, subject, text_body)


def read_outbox(actor: Actor, limit: int = 50) -> list[OutboxMessage]:
    """The latest outbox messages, newest first: the operator only, and only in local/test."""
    authorize(actor, Action.OUTBOX_VIEW)
    if get_settings().env not in OUTBOX_ENVIRONMENTS:
        raise PermissionDenied()
    limit = max(1, min(int(limit), OUTBOX_SIZE))
    try:
        raw: list[Any] = list(get_redis().lrange(OUTBOX_KEY, 0, limit - 1))
    except redis.RedisError as exc:
        log.warning("outbox: cannot read from Redis: %s", exc)
        raise ServiceUnavailable() from exc
    messages: list[OutboxMessage] = []
    for item in raw:
        try:
            data = json.loads(item)
            messages.append(
                OutboxMessage(
                    to=str(data["to"]),
                    subject=str(data["subject"]),
                    body=str(data["body"]),
                    sent_at=datetime.fromisoformat(str(data["sent_at"])),
                )
            )
        except (ValueError, KeyError, TypeError):  # not ours, or from an older format: skip it
            continue
    return messages


def _check_headers(to: str, subject: str) -> tuple[str, str]:
    """One plain address and a one-line subject: nothing can smuggle in extra headers or recipients."""
    to = (to or "").strip()
    subject = " ".join((subject or "").split())
    if not to or any(ch in to for ch in '\r\n,;<>"') or to.count("@") != 1 or len(to) > 320:
        raise ValidationFailed("error.invalid_email")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ValidationFailed("error.mail_too_long")
    return to, subject


def _store_in_outbox(to: str, subject: str, body: str) -> None:
    entry = json.dumps({"to": to, "subject": subject, "body": body, "sent_at": clock.now().isoformat()})
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.lpush(OUTBOX_KEY, entry)
        pipe.ltrim(OUTBOX_KEY, 0, OUTBOX_SIZE - 1)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("outbox: cannot store a message: %s", exc)
        raise ServiceUnavailable(MAIL_FAILED) from exc
    log.info("outbox: stored a message for %s (%s)", to, subject)


def _build_message(to: str, subject: str, body: str) -> EmailMessage:
    settings = get_settings()
    message = EmailMessage()
    message["From"] = settings.mail_from
    try:
        message["To"] = Address(addr_spec=to)
    except (ValueError, IndexError) as exc:
        raise ValidationFailed("error.invalid_email") from exc
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    sender_domain = settings.mail_from.rpartition("@")[2].strip(" >") or "localhost"
    message["Message-ID"] = make_msgid(domain=sender_domain)
    message.set_content(body)
    return message


def _send_smtp(to: str, subject: str, body: str) -> None:
    settings = get_settings()
    message = _build_message(to, subject, body)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:  # OSError covers refused, unreachable, timeouts, TLS
        log.warning(
            "smtp: sending to %s via %s:%s failed: %s: %s",
            to,
            settings.smtp_host,
            settings.smtp_port,
            type(exc).__name__,
            exc,
        )
        raise ServiceUnavailable(MAIL_FAILED) from exc
    log.info("smtp: sent %r to %s", subject, to)
