"""One settings object for the whole hub (environment prefix ``HUB_``, nested with ``__``).

Examples: ``HUB_DATABASE_URL=postgresql+asyncpg://...``, ``HUB_OCPP__PORT=9000``,
``HUB_OUTBOX__BACKOFF_BASE_SECONDS=2``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class OwnParty(BaseModel):
    """A party this hub's operator runs itself (OCPI: country_code + party_id + role)."""

    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    role: str  # CPO | EMSP | HUB
    name: str


def _default_parties() -> list[OwnParty]:
    return [
        OwnParty(country_code="LV", party_id="BIM", role="CPO", name="Latvian charging network"),
        OwnParty(country_code="LV", party_id="BIE", role="EMSP", name="Latvian charging network"),
    ]


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    # The URL partners use to reach us; defaults to http://host:port.
    public_url: str | None = None


class OcppSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 9000
    auto_register: bool = False
    heartbeat_interval: int = 300
    # Offline after 2 x heartbeat interval + grace without a message (PROTOCOL_NOTES, OCPP).
    offline_grace_seconds: int = 60
    ping_interval: float | None = 45.0
    call_timeout: float = 30.0


class OcpiSettings(BaseModel):
    # Time we wait for a partner's answer to a real-time authorize before we fall back.
    authorize_timeout: float = 5.0
    request_timeout: float = 15.0
    page_limit: int = 50
    max_page_limit: int = 1000
    # Send tokens base64-encoded (OCPI 2.2) unless a peer is known to want raw tokens.
    send_base64_tokens: bool = True


class OutboxSettings(BaseModel):
    poll_interval_seconds: float = 1.0
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    max_attempts: int = 25
    batch_size: int = 50


class ClearingSettings(BaseModel):
    # Billing periods (YYYY-MM) are months in this zone: finance closes Latvian months.
    timezone: str = "Europe/Riga"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_nested_delimiter="__", env_file=None, extra="ignore"
    )

    environment: str = "development"
    data_dir: Path = Path("var")
    database_url: str | None = None
    # PostgreSQL only: the schema (search_path) the hub lives in; used by tests for isolation.
    database_schema: str | None = None
    log_level: str = "INFO"
    log_format: str = "console"  # console | json
    admin_token: SecretStr | None = None
    parties: list[OwnParty] = Field(default_factory=_default_parties)
    default_country: str = "LV"
    http: HttpSettings = Field(default_factory=HttpSettings)
    ocpp: OcppSettings = Field(default_factory=OcppSettings)
    ocpi: OcpiSettings = Field(default_factory=OcpiSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    clearing: ClearingSettings = Field(default_factory=ClearingSettings)
    scheduler_enabled: bool = True

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'hub.db'}"

    @property
    def public_url(self) -> str:
        if self.http.public_url:
            return self.http.public_url.rstrip("/")
        return f"http://{self.http.host}:{self.http.port}"

    def own_party(self, role: str) -> OwnParty | None:
        return next((p for p in self.parties if p.role == role), None)
