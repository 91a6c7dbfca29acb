"""Organizations, their API keys and their WhatsApp Business Accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

ORG_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
WABA_ID = re.compile(r"^[0-9]{1,32}$")


class Role(IntEnum):
    """Ordered: a higher role can do everything a lower one can."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, raw: str) -> Role:
        try:
            return cls[raw.strip().upper()]
        except KeyError:
            names = ", ".join(r.name.lower() for r in cls)
            raise ValueError(f"unknown role {raw!r}; expected one of {names}") from None


@dataclass(slots=True)
class Organization:
    id: str
    slug: str
    display_name: str
    created_at: datetime


@dataclass(slots=True)
class ApiKey:
    """Only a hash of the secret is kept; the secret itself is shown once, at creation."""

    id: str
    org_id: str
    role: Role
    key_hash: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(slots=True)
class Waba:
    """A WhatsApp Business Account registered to exactly one organization."""

    waba_id: str
    org_id: str
    display_name: str
    created_at: datetime
    phone_number_ids: tuple[str, ...] = field(default=())
