"""In-memory implementations of the ports in app.ports, for fast use-case and gRPC tests."""

from fakes.memory import (
    FakeApiKeyRepository,
    FakeHealthProbe,
    FakeIdempotencyRepository,
    FakeOrganizationRepository,
    FakeSecretRepository,
    FakeTemplateRepository,
    FakeUnitOfWork,
    FakeUnitOfWorkFactory,
    FakeWabaRepository,
    FrozenClock,
    MemoryStore,
)

__all__ = [
    "FakeApiKeyRepository",
    "FakeHealthProbe",
    "FakeIdempotencyRepository",
    "FakeOrganizationRepository",
    "FakeSecretRepository",
    "FakeTemplateRepository",
    "FakeUnitOfWork",
    "FakeUnitOfWorkFactory",
    "FakeWabaRepository",
    "FrozenClock",
    "MemoryStore",
]
