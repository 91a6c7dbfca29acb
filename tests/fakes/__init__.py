"""In-memory implementations of the ports in app.ports, for fast use-case and gRPC tests."""

from fakes.clock import FakeHealthProbe, FrozenClock, ManualMonotonic
from fakes.repositories.alerts import FakeAlertRepository
from fakes.repositories.inbox import FakeInboxRepository
from fakes.repositories.requests import FakeIdempotencyRepository, FakeSecretRepository
from fakes.repositories.tables import IntegrityViolation, MemoryStore
from fakes.repositories.templates import FakeTemplateEventRepository, FakeTemplateRepository
from fakes.repositories.tenancy import FakeApiKeyRepository, FakeOrganizationRepository, FakeWabaRepository
from fakes.store import CountingUnitOfWorkFactory, FakeUnitOfWork, FakeUnitOfWorkFactory

__all__ = [
    "CountingUnitOfWorkFactory",
    "FakeAlertRepository",
    "FakeApiKeyRepository",
    "FakeHealthProbe",
    "FakeIdempotencyRepository",
    "FakeInboxRepository",
    "FakeOrganizationRepository",
    "FakeSecretRepository",
    "FakeTemplateEventRepository",
    "FakeTemplateRepository",
    "FakeUnitOfWork",
    "FakeUnitOfWorkFactory",
    "FakeWabaRepository",
    "FrozenClock",
    "IntegrityViolation",
    "ManualMonotonic",
    "MemoryStore",
]
