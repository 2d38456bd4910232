"""A real SMTP server for the tests: aiosmtpd's Controller on a free loopback port, in a thread.

    with SmtpSink() as sink, sink.as_mail_backend():
        ...code that calls services.core.mailer.send_mail...
        message = sink.last_to("someone@example.com")

`as_mail_backend()` points the application's settings at the sink (MAIL_BACKEND=smtp, no
STARTTLS) and restores them afterwards. The server accepts AUTH LOGIN/PLAIN without TLS for
`SmtpSink.USERNAME` / `SmtpSink.PASSWORD` (login is optional), so the login path is tested too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from devtools.devstack import free_port


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    authenticated_as: str | None

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


class _Collector:
    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data  # what _authenticate returned: the user name, or None
        with self.lock:
            self.received.append(
                ReceivedMail(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message=message,
                    authenticated_as=login if isinstance(login, str) else None,
                )
            )
        return "250 Message accepted for delivery"


class SmtpSink:
    USERNAME = "mailer"
    PASSWORD = "mailer-test-password"

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._collector = _Collector()
        self._controller = Controller(
            self._collector,
            hostname=self.host,
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
            auth_required=False,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.USERNAME.encode()
            and auth_data.password == self.PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=self.USERNAME if ok else None)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._collector.lock:
            return list(self._collector.received)

    def clear(self) -> None:
        with self._collector.lock:
            self._collector.received.clear()

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def last_to(self, address: str) -> ReceivedMail:
        found = self.to(address)
        assert found, f"no mail to {address}; got {[m.rcpt_tos for m in self.messages]}"
        return found[-1]

    @contextmanager
    def as_mail_backend(self, **extra: str) -> Iterator[SmtpSink]:
        """Settings point at this server while the block runs (then the previous ones come back)."""
        env = {
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": self.host,
            "SMTP_PORT": str(self.port),
            "SMTP_STARTTLS": "false",
            "SMTP_USERNAME": "",
            "SMTP_PASSWORD": "",
            "MAIL_FROM": "Workdash Test <no-reply@workdash.example.com>",
        }
        with use_settings(**(env | extra)):
            yield self


@contextmanager
def use_settings(**env: str) -> Iterator[None]:
    """Set environment variables and rebuild the cached settings; restore both afterwards."""
    from services.core.settings import get_settings

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
