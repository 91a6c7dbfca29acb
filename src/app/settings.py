"""Typed configuration from the environment (WATEMPLATES_*) and a `.env` file; defaults serve a laptop.

Where a value comes from, strongest first: the process environment, then the settings file (`.env`
in the current directory, or the file WATEMPLATES_ENV_FILE names), then the default here.
"""

from __future__ import annotations

import os

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/watemplates.db"
DEFAULT_ENV_FILE = ".env"
ENV_FILE_ENCODING = "utf-8"
# Names the settings file to read instead of ./.env (`watemplates --env-file PATH` sets it). An
# environment variable rather than a constructor argument: `serve` starts its inbox worker as a child
# process, which builds its own Settings and must read the same file.
ENV_FILE_VARIABLE = "WATEMPLATES_ENV_FILE"


def env_file() -> str:
    """The settings file this process reads (it need not exist)."""
    return os.environ.get(ENV_FILE_VARIABLE) or DEFAULT_ENV_FILE


def split_host_port(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"address {addr!r} must look like HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - an empty host means all interfaces


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WATEMPLATES_",
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding=ENV_FILE_ENCODING,
        extra="ignore",
    )

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
    # Libraries' loggers (SQLAlchemy, aiohttp, grpc, ...) stay at WARNING unless this is on: at DEBUG
    # they log every query and frame, and the service's own lines would drown.
    log_libraries: bool = False
    # With a token, /metrics answers only a scraper sending `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = None
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
    # The dashboard (same port as the webhook): how long a sign-in lasts, and whether its cookies
    # are marked Secure (turn it on when HTTPS is in front; browsers then send them over HTTPS only).
    dashboard_session_hours: float = Field(default=12.0, gt=0)
    dashboard_secure_cookies: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """pydantic-settings' order (arguments, environment, file, secrets), with the file chosen when
        Settings() is made rather than when this class was defined, so WATEMPLATES_ENV_FILE applies."""
        chosen = env_file()
        if chosen != DEFAULT_ENV_FILE:
            dotenv_settings = DotEnvSettingsSource(
                settings_cls, env_file=chosen, env_file_encoding=ENV_FILE_ENCODING
            )
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @field_validator("grpc_addr", "http_addr")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        split_host_port(value)
        return value
