"""How much invitation mail a company can make the product send: the one place for the rule.

Every invitation and every resend is one mail to an address the inviter chose, so each counts
against three rolling quotas (services.core.quota; sizes from the settings):
- the manager who sends it: INVITE_MAILS_PER_MANAGER_PER_HOUR;
- the company: INVITE_MAILS_PER_COMPANY_PER_DAY (shared by all of its managers);
- the recipient, within the company: INVITE_MAILS_PER_ADDRESS_PER_DAY (a resend loop stops here;
  another company's mail to the same address is counted apart, so no company learns of another's).
One too many is refused with RateLimited(seconds until a slot frees), before anything is written;
a mail that could not be sent is given back.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from datetime import timedelta

from services.core import quota
from services.core.actor import Actor
from services.core.settings import get_settings

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def invitation_mail(actor: Actor, company_id: uuid.UUID, address: str) -> AbstractContextManager[None]:
    """Enter before writing an invitation and leave after its mail is sent (RateLimited on entry)."""
    settings = get_settings()
    return quota.spend(
        (quota.Quota("invite-mail-manager", settings.invite_mails_per_manager_per_hour, HOUR), str(actor.user_id)),
        (quota.Quota("invite-mail-company", settings.invite_mails_per_company_per_day, DAY), str(company_id)),
        (
            quota.Quota("invite-mail-address", settings.invite_mails_per_address_per_day, DAY),
            f"{company_id}\x00{address}",
        ),
    )
