"""Who is calling. Built on the server from a verified session, never from client input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from models import Role


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    company_id: uuid.UUID | None  # None only for the SaaS operator (admin)
    role: Role
    full_name: str
    email: str
    company_name: str = ""
    # When the company became (or becomes) read-only: services.core.policy refuses writes from then on.
    read_only_at: datetime | None = field(default=None, compare=False)
    # Where the current request comes from (for the audit log); not part of the identity.
    ip: str = field(default="", compare=False)
    user_agent: str = field(default="", compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
