"""Who is calling. Built on the server from a verified session, never from client input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from models import Role


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    company_id: uuid.UUID | None  # None only for the SaaS operator (admin)
    role: Role
    full_name: str
    email: str
    company_name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
