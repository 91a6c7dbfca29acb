"""API keys: issuing (the secret is shown once), hashing, and resolving a caller to a Principal."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from cachetools import TTLCache

from app.errors import PermissionDenied, Unauthenticated
from app.ports import UnitOfWorkFactory
from domain.tenancy import Role

KEY_PREFIX = "wat"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: every use case is scoped to `org_id`."""

    org_id: str
    role: Role
    key_id: str
    # The key's public prefix (what operators see in listings); "" for the CLI.
    key_prefix: str = ""

    @property
    def label(self) -> str:
        """Who did it, as recorded on what they did (e.g. an alert acknowledgement)."""
        return f"apiKeys/{self.key_prefix}" if self.key_prefix else self.key_id

    def require(self, role: Role) -> None:
        if self.role < role:
            raise PermissionDenied(needed=role.name.lower(), held=self.role.name.lower())


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    prefix: str
    secret: str
    key_hash: str


def issue_key() -> IssuedKey:
    """A key looks like `wat_<prefix>_<secret>`; the prefix identifies it in listings and revocation."""
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedKey(key_id=secrets.token_hex(16), prefix=prefix, secret=secret, key_hash=hash_key(secret))


def hash_key(secret: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


class Authenticator:
    """Resolves a bearer key to a Principal, caching hits briefly to keep the database off the hot path."""

    def __init__(self, uow_factory: UnitOfWorkFactory, cache_seconds: float = 5.0) -> None:
        self._uow_factory = uow_factory
        self._cache: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=10_000, ttl=cache_seconds) if cache_seconds > 0 else None
        )

    async def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthenticated("missing API key: send the metadata 'authorization: Bearer <key>'")
        return await self.authenticate_hash(hash_key(secret))

    async def authenticate_hash(self, key_hash: str) -> Principal:
        """As authenticate, for a key known by its hash (a dashboard session keeps only that)."""
        if self._cache is not None and (cached := self._cache.get(key_hash)) is not None:
            return cached
        async with self._uow_factory(read_only=True) as uow:
            key = await uow.api_keys.get_by_hash(key_hash)
        if key is None or not key.active:
            raise Unauthenticated("the API key is unknown or revoked")
        principal = Principal(org_id=key.org_id, role=key.role, key_id=key.id, key_prefix=key.prefix)
        if self._cache is not None:
            self._cache[key_hash] = principal
        return principal
