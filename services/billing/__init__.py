"""Billing: plan limits (and, as they land, plans, trials, subscriptions, invoices and payments).

This module is the domain's public surface: other domains and the UI import only these names.
"""

from services.billing.jobs import expire_trials
from services.billing.limits import check_seat_limit

__all__ = ["check_seat_limit", "expire_trials"]
