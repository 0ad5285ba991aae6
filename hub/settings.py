"""One settings object for the whole hub (environment prefix ``HUB_``, nested with ``__``).

Examples: ``HUB_DATABASE_URL=postgresql+asyncpg://...``, ``HUB_OCPP__PORT=9000``,
``HUB_OUTBOX__BACKOFF_BASE_SECONDS=2``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    # Largest WebSocket message a station may send; a bigger one closes the connection with
    # 1009 (RFC 6455 section 7.4.1). Generous on purpose: a 1.6 StopTransaction with
    # transactionData or a 2.0.1 NotifyReport can reach hundreds of KB, and a refused
    # StopTransaction is retried forever (docs/ocpp.md, "Bad input").
    max_frame_bytes: int = Field(default=1 << 20, ge=4096)
    # Frames buffered per connection before we stop reading its socket (TCP back-pressure):
    # a flooding station costs at most about (max_queued_frames + 1) x max_frame_bytes.
    max_queued_frames: int = Field(default=4, ge=1)
    # OCPP 1.6 security whitepaper: 1 = Basic auth over ws://, 2 = TLS + Basic auth,
    # 3 = mutual TLS (client certificate CN = station id). Files default to the hub's own CA
    # under data_dir/pki (created on first start) when the profile is 2 or 3.
    security_profile: int = Field(default=1, ge=1, le=3)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_file: Path | None = None  # CAs trusted for station certificates (profile 3)
    # Extra DNS names / IPs for the auto-generated server certificate (besides host, localhost).
    tls_server_names: list[str] = Field(default_factory=list)


class MonitoringSettings(BaseModel):
    """Station health checks and recovery (docs/ocpp.md, "Monitoring and recovery")."""

    enabled: bool = True
    check_interval_seconds: float = 10.0
    # Faulted or unresponsive this long -> soft reset; still bad this long after a reset ->
    # the next step (hard reset, then give up with a reset_failed alarm).
    fault_seconds: float = 120.0
    recovery_seconds: float = 300.0
    max_resets: int = 3  # resets per station per window; beyond -> give up
    reset_window_seconds: float = 3600.0
    # Silent this long -> probe with TriggerMessage(Heartbeat); None = heartbeat interval + grace.
    probe_after_seconds: float | None = None
    probe_timeout_seconds: float = 15.0
    # BootNotification storms: more accepted boots than this per window while at least
    # boot_storm_busy_calls OCPP CALLs are being handled -> Pending, with an interval doubling
    # per retry of the same station (base .. max seconds). busy_calls 0: by rate alone.
    boot_storm_threshold: int = 1000
    boot_storm_window_seconds: float = 10.0
    boot_storm_busy_calls: int = 1000
    boot_pending_base_seconds: int = 30
    boot_pending_max_seconds: int = 600
    # Transactions without any message for this long are closed with the flag stale_closed.
    stale_transaction_hours: float = 48.0
    stale_sweep_interval_seconds: float = 900.0
    # SecurityEventNotification types that raise no alarm.
    security_events_ignored: list[str] = Field(
        default_factory=lambda: ["StartupOfTheDevice", "SettingSystemTime"])


class SmtpSettings(BaseModel):
    """Alarm e-mail (``HUB_SMTP__HOST``, ``__PORT``, ``__FROM``, ``__TO`` (comma-separated),
    ``__USERNAME``, ``__PASSWORD``, ``__STARTTLS``, ``__SSL``). No host: no e-mail."""

    model_config = ConfigDict(populate_by_name=True)

    host: str | None = None
    port: int = 25
    from_address: str = Field(default="hub@localhost", alias="from")
    to: Annotated[list[str], NoDecode] = Field(default_factory=list)  # "a@x, b@y" in env
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    ssl: bool = False
    timeout_seconds: float = 15.0

    @field_validator("to", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [a.strip() for a in value.split(",") if a.strip()]
        return value


class OcpiSettings(BaseModel):
    # Time we wait for a partner's answer to a real-time authorize before we fall back.
    authorize_timeout: float = 5.0
    request_timeout: float = 15.0
    page_limit: int = 50
    max_page_limit: int = 1000
    # Send tokens base64-encoded (OCPI 2.2) unless a peer is known to want raw tokens.
    send_base64_tokens: bool = True
    # Issue 5 (ocpi.security): hosts partner URLs may point to (exact, or "*.example.com");
    # loopback is allowed too outside production. HTTPS is required in production.
    allowed_hosts: list[str] = Field(default_factory=list)
    # HubClientInfo still-alive check: GET a partner's versions after this much silence.
    still_alive_minutes: int = 5
    # Per partner platform (ocpi.ratelimit): average requests/s and burst; 0 = no limit.
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    # Seconds a caller (token -> partner, parties, agreements) is kept in memory; any change
    # committed by this process clears it at once, other processes' changes within this time.
    caller_cache_seconds: float = 2.0
    # Our own locations/tariffs pushed to partners' Receivers on change (ocpi.push_own):
    # scan interval in seconds; 0 = never push (partners only GET).
    push_interval_seconds: float = 2.0
    # Partner CPOs' locations pulled in full (ocpi.pagination.pull_all_partners) every this many
    # hours, catching what was never pushed; 0 = never.
    pull_locations_hours: float = 24.0
    # Hub routing (ocpi.routing, ocpi.proxy): lifetime of a rewritten response_url/Link/
    # Location; whether a location/tariff push without OCPI-to headers is broadcast too.
    proxy_ttl_minutes: int = 60
    broadcast_open_pushes: bool = True
    # Charging profiles of our sessions (ocpi.chargingprofiles): a PUT (set) or GET (request)
    # for the same session sooner than this many seconds after the last accepted one is
    # answered TOO_OFTEN (mod_charging_profiles ChargingProfileResponseType); 0 = no limit.
    profile_min_interval_seconds: float = 5.0


class OutboxSettings(BaseModel):
    poll_interval_seconds: float = 1.0
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    max_attempts: int = 25
    batch_size: int = 50
    # Partners delivered to at the same time (each partner's messages stay in order).
    concurrency: int = 64


class ClearingSettings(BaseModel):
    # Billing periods (YYYY-MM) are months in this zone: finance closes Latvian months.
    timezone: str = "Europe/Riga"
    # Clearing house (clearing.house.jobs): the scheduled close runs this many days after a
    # settlement period ends (late CDRs of the month still land in it).
    close_grace_days: int = 5
    # ECB euro reference rates (clearing.fx): imported daily from this URL or file (CSV/XML,
    # daily or history, optionally zipped) at ``ecb_import_time`` UTC; none set: no job.
    ecb_rates_url: str | None = None
    ecb_rates_file: str | None = None
    ecb_import_time: str = "16:30"  # HH:MM UTC; the ECB publishes around 16:00 CET


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_nested_delimiter="__", env_file=None, extra="ignore"
    )

    environment: str = "development"
    data_dir: Path = Path("var")
    database_url: str | None = None
    # PostgreSQL only: the schema (search_path) the hub lives in; used by tests for isolation.
    database_schema: str | None = None
    # PostgreSQL connection pool: connections kept open, and how many more may be opened while
    # all are busy (each opened and closed again: a server process forked per connection).
    database_pool_size: int = Field(default=20, ge=1)
    database_max_overflow: int = Field(default=20, ge=0)
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
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
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
