"""Typed configuration from the environment (WATEMPLATES_*); defaults serve a laptop."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/watemplates.db"


def split_host_port(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"address {addr!r} must look like HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - an empty host means all interfaces


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WATEMPLATES_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    grpc_addr: str = "127.0.0.1:50051"
    http_addr: str = "127.0.0.1:8080"
    # Migrate the database to the newest schema when the server starts (the embedded default);
    # production deployments usually run `watemplates migrate` as a release step instead.
    migrate_on_start: bool = True
    meta_app_secret: SecretStr | None = None
    meta_verify_token: SecretStr | None = None
    meta_access_token: SecretStr | None = None
    meta_graph_url: str = "https://graph.facebook.com"
    meta_api_version: str = "v24.0"
    # Signs page tokens; when unset a random secret is created once and kept in the database, so
    # every replica sharing the database accepts the others' tokens.
    page_token_secret: SecretStr | None = None
    # API keys are looked up at most this often per key (revocation takes effect within it).
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    # The inbox worker in a process of its own (app.worker_process): "auto" does so on PostgreSQL
    # with two or more cores; "on" always; "off" keeps every role in one process.
    worker_process: str = Field(default="auto", pattern="^(auto|on|off)$")
    # Email notifications (an email channel needs smtp_host): STARTTLS, required (smtp_security
    # "starttls", the default), TLS from the first byte ("tls", usually port 465), or neither
    # ("none": only for a relay on the same host or network).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: str = Field(default="starttls", pattern="^(starttls|tls|none)$")
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_from: str = "watemplates@localhost"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # A notification a dispatcher claimed and did not report on (it died) is sent again after this.
    notification_lease_seconds: float = Field(default=120.0, gt=0)

    @field_validator("grpc_addr", "http_addr")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        split_host_port(value)
        return value
