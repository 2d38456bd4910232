"""The payment provider's webhook: a card payment reported by the provider becomes a payment.

The provider signs each delivery: header `Workdash-Signature: t=<unix seconds>,v1=<hex>`, where the
hex is HMAC-SHA256 under PAYMENT_WEBHOOK_SECRET of `<t>.` followed by the raw body. The body is JSON:
`{"id": "<event id>", "type": "payment_succeeded", "data": {"invoice_id": "<uuid>",
"amount_minor": <int>, "currency": "USD", "reference": "<provider's charge id>"}}`.

Answers (nothing is written unless the answer is `processed`):
- 503: no secret configured; 400: no or malformed signature header, malformed body;
- 401: wrong signature, or a timestamp more than TOLERANCE away from now (a captured delivery
  cannot be replayed later, even with a new event id the attacker cannot sign);
- 200 `duplicate`: the event id was processed before (stored in provider_events in the same
  transaction as the payment, under its primary key, so two deliveries at once apply it once): the
  provider stops retrying and nothing changes; 200 `ignored`: an event type we do not handle;
- 404: no such invoice; 409: the invoice takes no payment (paid, void, draft);
  422: wrong currency, or an amount not in (0, balance];
- 200 `processed`: the payment is recorded (and the invoice paid when covered), like the
  operator's (services.billing.payments.apply_payment).
System work (no actor): the caller gives a system-scope session and commits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Invoice, PaymentMethod
from services.billing import payments
from services.core import clock
from services.core.errors import Conflict, ValidationFailed
from services.core.settings import get_settings

SIGNATURE_HEADER = "workdash-signature"
TOLERANCE = timedelta(minutes=5)
PAYMENT_SUCCEEDED = "payment_succeeded"
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    outcome: str


class _Refused(Exception):
    def __init__(self, status: int, outcome: str) -> None:
        super().__init__(outcome)
        self.answer = WebhookAnswer(status, outcome)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value a provider sends (also what the tests and a provider simulator use)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def handle_provider_event(session: Session, body: bytes, signature: str | None) -> WebhookAnswer:
    try:
        event = _verified(body, signature)
        return _apply(session, event)
    except _Refused as refused:
        return refused.answer


def _verified(body: bytes, signature: str | None) -> dict[str, object]:
    secret = get_settings().payment_webhook_secret
    if secret is None or not secret.get_secret_value():
        raise _Refused(503, "not configured")
    if len(body) > MAX_BODY_BYTES:
        raise _Refused(400, "too large")
    parts = dict(item.split("=", 1) for item in (signature or "").split(",") if "=" in item)
    timestamp_text, given = parts.get("t", ""), parts.get("v1", "")
    if not timestamp_text.isdigit() or not given:
        raise _Refused(400, "malformed signature")
    timestamp = int(timestamp_text)
    expected = sign(secret.get_secret_value(), timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise _Refused(401, "bad signature")
    if abs(clock.now().timestamp() - timestamp) > TOLERANCE.total_seconds():
        raise _Refused(401, "stale timestamp")
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise _Refused(400, "malformed body") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not 0 < len(event["id"]) <= 200:
        raise _Refused(400, "malformed body")
    return event


def _apply(session: Session, event: dict[str, object]) -> WebhookAnswer:
    if event.get("type") != PAYMENT_SUCCEEDED:
        return WebhookAnswer(200, "ignored")
    data = event.get("data")
    if not isinstance(data, dict):
        raise _Refused(400, "malformed body")
    try:
        invoice_id = uuid.UUID(str(data.get("invoice_id")))
    except ValueError as exc:
        raise _Refused(404, "unknown invoice") from exc
    amount, currency, reference = data.get("amount_minor"), data.get("currency"), data.get("reference", "")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise _Refused(422, "wrong amount or currency")
    # One savepoint: a refusal below rolls the event id back with everything else (nothing recorded).
    # The event id goes first: a concurrent delivery of the same event waits on it, then finds it.
    with session.begin_nested():
        stored = session.execute(
            sa.text(
                "INSERT INTO provider_events (event_id, kind) VALUES (:id, :kind) "
                "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
            ),
            {"id": event["id"], "kind": PAYMENT_SUCCEEDED},
        ).first()
        if stored is None:
            return WebhookAnswer(200, "duplicate")
        invoice = session.exec(select(Invoice).where(Invoice.id == invoice_id).with_for_update()).first()
        if invoice is None:
            raise _Refused(404, "unknown invoice")
        try:
            payments.apply_payment(
                session,
                invoice,
                amount_minor=amount,
                currency=currency,
                method=PaymentMethod.CARD,
                reference=str(reference)[:200] or str(event["id"]),
            )
        except Conflict as exc:
            raise _Refused(409, "invoice not payable") from exc
        except ValidationFailed as exc:
            raise _Refused(422, "wrong amount or currency") from exc
    return WebhookAnswer(200, "processed")
