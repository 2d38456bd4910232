"""Money arithmetic in integer minor units (cents, kopecks): no float ever touches an amount.

Rounding is one rule everywhere: half away from zero (`div_round`), applied once per computed
amount, so a charge and the opposite charge for the same moment cancel exactly (proration is
antisymmetric), and the sum of an invoice's lines is its subtotal by construction.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import datetime, timedelta

from models import BillingInterval

BASIS_POINTS = 10_000  # 100 % of a tax rate


def div_round(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (denominator > 0)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def prorate(old_price_minor: int, new_price_minor: int, remaining_seconds: int, period_seconds: int) -> int:
    """What a plan change costs for the rest of the period: (new - old) x remaining / period, in minor
    units (negative for a cheaper plan). `remaining_seconds` is clamped into [0, period_seconds]."""
    if period_seconds <= 0:
        raise ValueError("a period has a positive length")
    remaining = min(max(remaining_seconds, 0), period_seconds)
    return div_round((new_price_minor - old_price_minor) * remaining, period_seconds)


def tax_of(subtotal_minor: int, rate_bp: int) -> int:
    """The tax on a subtotal at `rate_bp` basis points (2000 = 20 %)."""
    if not 0 <= rate_bp <= BASIS_POINTS:
        raise ValueError("tax rate out of range")
    return div_round(subtotal_minor * rate_bp, BASIS_POINTS)


def totals(line_amounts: Iterable[int], rate_bp: int) -> tuple[int, int, int]:
    """(subtotal, tax, total) of an invoice's line amounts; total = subtotal + tax exactly."""
    subtotal = sum(line_amounts)
    tax = tax_of(subtotal, rate_bp)
    return subtotal, tax, subtotal + tax


def add_interval(start: datetime, interval: BillingInterval, count: int = 1) -> datetime:
    """`start` moved by `count` months or years; a day past the target month's end becomes its last
    day (Jan 31 + 1 month = Feb 28/29), as Stripe does, always from the anchor so no drift builds up."""
    months = count * (12 if interval is BillingInterval.YEAR else 1)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def next_period_end(anchor: datetime, period_end: datetime, interval: BillingInterval) -> datetime:
    """The end of the period after the one ending at `period_end`, counted from `anchor`."""
    count = period_end.year - anchor.year
    if interval is BillingInterval.MONTH:
        count = count * 12 + period_end.month - anchor.month
    return add_interval(anchor, interval, count + 1)


def seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def format_money(amount_minor: int, currency: str) -> str:
    """12345, 'EUR' -> '123.45 EUR' (two decimals: every currency the app bills in has them)."""
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(amount_minor), 100)
    return f"{sign}{whole:,}.{cents:02d} {currency}".replace(",", "\u202f")
