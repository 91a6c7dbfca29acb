"""Signing in to the dashboard with an API key: a server-side session, looked up on every request.

The browser gets an opaque session id (in an HttpOnly cookie, set by the HTTP adapter), never the
key. A session ends when it expires, when its holder signs out, and when its key is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from app.auth import Authenticator, Principal, hash_key
from app.dashboard_ports import DashboardSession
from app.errors import Unauthenticated
from app.ports import Clock, UnitOfWorkFactory
from domain.tenancy import Role

DEFAULT_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session and who holds it: `session_id` goes in the cookie, `csrf_token` in every form."""

    session_id: str
    csrf_token: str
    principal: Principal


class DashboardSessions:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        authenticator: Authenticator,
        clock: Clock,
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> None:
        self._uow_factory = uow_factory
        self._authenticator = authenticator
        self._clock = clock
        self._lifetime = lifetime

    async def sign_in(self, api_key: str) -> SignedIn:
        """Opens a session for a viewer key or better; Unauthenticated for a wrong or revoked key."""
        principal = await self._authenticator.authenticate(api_key.strip())
        principal.require(Role.VIEWER)
        session_id = secrets.token_urlsafe(32)
        now = self._clock.now()
        session = DashboardSession(
            id_hash=_hash(session_id),
            key_hash=hash_key(api_key.strip()),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + self._lifetime,
        )
        async with self._uow_factory() as uow:
            # Expired sessions go when new ones come: no sweeper needed for a table this small.
            await uow.sessions.delete_expired(now)
            await uow.sessions.add(session)
            await uow.commit()
        return SignedIn(session_id, session.csrf_token, principal)

    async def resolve(self, session_id: str) -> SignedIn | None:
        """The session of a cookie, or None when there is none, it expired or its key was revoked."""
        if not session_id:
            return None
        async with self._uow_factory(read_only=True) as uow:
            session = await uow.sessions.get(_hash(session_id))
        if session is None or session.expires_at <= self._clock.now():
            return None
        try:
            principal = await self._authenticator.authenticate_hash(session.key_hash)
        except Unauthenticated:
            return None
        return SignedIn(session_id, session.csrf_token, principal)

    async def sign_out(self, session_id: str) -> None:
        async with self._uow_factory() as uow:
            await uow.sessions.delete(_hash(session_id))
            await uow.commit()


def _hash(session_id: str) -> str:
    # 256 random bits: a fast hash is enough, and a leaked table opens no session.
    return hashlib.sha256(session_id.encode()).hexdigest()
