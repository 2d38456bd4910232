"""Money in minor units: proration, tax and totals, checked as properties over random inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from models import BillingInterval
from services.billing import money

PRICES = st.integers(min_value=0, max_value=10_000_000)
PERIOD = st.integers(min_value=1, max_value=366 * 86400)


@given(PRICES, PRICES, PERIOD, st.data())
def test_proration_is_bounded_and_antisymmetric(old: int, new: int, period: int, data: st.DataObject) -> None:
    remaining = data.draw(st.integers(min_value=0, max_value=period))
    up = money.prorate(old, new, remaining, period)
    down = money.prorate(new, old, remaining, period)
    assert up == -down  # a change and its reverse at the same moment cancel exactly
    assert abs(up) <= abs(new - old)
    exact = (new - old) * remaining / period
    assert abs(up - exact) <= 0.5  # one rounding, to the nearest minor unit
    assert money.prorate(old, new, 0, period) == 0
    assert money.prorate(old, new, period, period) == new - old


@given(PRICES, st.lists(st.tuples(PRICES, st.integers(min_value=1, max_value=30 * 86400 - 1)), max_size=12))
def test_a_year_of_plan_changes_loses_and_gains_no_cent(start_price: int, changes: list[tuple[int, int]]) -> None:
    """Over twelve monthly periods with a random plan change in each, what is billed equals the sum
    of each price times the share of the period it ran, within half a minor unit per change."""
    period = 30 * 86400
    billed = 0
    exact_numerator = 0
    price = start_price
    for new_price, at in changes:
        billed += price  # the period's invoice, at the price at its start
        exact_numerator += price * period
        remaining = period - at
        proration = money.prorate(price, new_price, remaining, period)
        billed += proration
        exact_numerator += (new_price - price) * remaining
        price = new_price
    # billed * period vs the exact amount: each proration rounds by at most half a unit
    assert abs(billed * period - exact_numerator) <= len(changes) * period / 2


@given(st.lists(st.integers(min_value=-1_000_000, max_value=10_000_000), max_size=20), st.integers(0, 10_000))
def test_totals_add_up(amounts: list[int], rate: int) -> None:
    subtotal, tax, total = money.totals(amounts, rate)
    assert subtotal == sum(amounts)
    assert total == subtotal + tax
    assert abs(tax * 10_000 - subtotal * rate) <= 5_000  # tax rounded to the nearest unit


def test_rounding_is_half_away_from_zero() -> None:
    assert money.tax_of(5, 1000) == 1  # 0.5 -> 1
    assert money.tax_of(-5, 1000) == -1
    assert money.tax_of(4, 1000) == 0
    assert money.prorate(0, 1, 1, 2) == 1 and money.prorate(1, 0, 1, 2) == -1


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)), st.integers(1, 60))
def test_periods_are_counted_from_the_anchor(start: datetime, count: int) -> None:
    anchor = start.replace(tzinfo=UTC)
    end = money.add_interval(anchor, BillingInterval.MONTH)
    for n in range(2, count + 1):
        nxt = money.next_period_end(anchor, end, BillingInterval.MONTH)
        assert nxt == money.add_interval(anchor, BillingInterval.MONTH, n)
        assert nxt > end
        end = nxt


def test_month_ends_clamp_without_drift() -> None:
    anchor = datetime(2026, 1, 31, 9, tzinfo=UTC)
    ends = [money.add_interval(anchor, BillingInterval.MONTH, n) for n in (1, 2, 3)]
    assert [e.day for e in ends] == [28, 31, 30]
    assert money.add_interval(datetime(2028, 2, 29, tzinfo=UTC), BillingInterval.YEAR) == datetime(
        2029, 2, 28, tzinfo=UTC
    )
    assert money.format_money(-123456, "EUR") == "-1\u202f234.56 EUR"
    assert money.seconds(timedelta(days=1)) == 86400
