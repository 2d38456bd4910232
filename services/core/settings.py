"""All configuration in one place, read from the environment and the env file of the current ENV.

Precedence: real environment variables > `.env.<ENV>` (or `.env` for local) > defaults.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
Environment = Literal["local", "test", "ci", "production"]

# Values that ship in example files; production refuses to start with any of them.
INSECURE_SECRETS = frozenset({"", "change-me", "changeme", "dev-secret-key-change-me", "secret"})
# Development passwords of .env.example and docker-compose.yml's defaults; refused in production too.
DEV_PASSWORDS = frozenset(
    {
        "saaspass",
        "apppass",
        "systempass",
        "redispass",
        "workdash-dev-secret",
        "minioadmin",
        "minioroot-dev-password",
        "password",
    }
)


def env_file_for(environment: str) -> Path:
    return PROJECT_ROOT / (".env" if environment == "local" else f".env.{environment}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    env: Environment = "local"

    # Database: DATABASE_URL wins; otherwise the atomic POSTGRES_* variables; otherwise
    # (local/test only) an embedded PostgreSQL started by the project itself.
    database_url: str | None = None
    postgres_user: str | None = None
    postgres_password: SecretStr | None = None
    postgres_host: str | None = None
    postgres_port: int = 5432
    postgres_db: str | None = None
    # The role the running app uses: it must not own the tables (row-level security).
    # Empty means: same credentials as migrations.
    app_database_url: str | None = None
    # The role of system work with no tenant (sign-in lookup, sign-up, invitation acceptance, the
    # worker, seeding): BYPASSRLS, owns nothing; its own small pool. Empty: same as migrations.
    system_database_url: str | None = None

    redis_url: str | None = None

    s3_endpoint_url: str | None = None
    s3_bucket: str = "workdash"
    s3_region: str = "us-east-1"
    # The S3 address browsers reach for presigned downloads, when it differs from S3_ENDPOINT_URL
    # (e.g. MinIO behind the TLS proxy). Also allowed in the Content-Security-Policy (previews).
    s3_public_url: str | None = None
    aws_access_key_id: str = "workdash-dev"
    aws_secret_access_key: SecretStr = SecretStr("workdash-dev-secret")

    secret_key: SecretStr = SecretStr("change-me")
    # The key that encrypts secrets stored in the database (two-factor keys): a Fernet key (32 random
    # bytes, url-safe base64). Empty: derived from SECRET_KEY. Changing it makes the stored ones unreadable.
    encryption_key: SecretStr | None = None
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    upload_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1)  # per file, counted while reading
    # Each company's storage (sum of its files) until billing's plans give the limit.
    storage_quota_bytes: int = Field(default=1024 * 1024 * 1024, ge=0)

    app_host: str = "127.0.0.1"
    app_port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = "http://localhost:8000"
    # Origins (scheme://host[:port]) whose pages may use a signed-in session: the websocket handshake
    # and the credentialed HTTP routes refuse every other. Comma-separated; empty: PUBLIC_URL's origin.
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # Reverse proxies whose forwarding header names the client (services/core/client_ip.py): addresses
    # and networks, comma-separated ("10.0.0.0/8, 192.0.2.7"), or how many proxies stand in front ("1").
    # Empty: the TCP peer is the client and forwarding headers are ignored.
    trusted_proxies: str = ""
    # The header those proxies write (and overwrite or append to): X-Forwarded-For or Forwarded.
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    data_dir: Path = PROJECT_ROOT / ".data"
    log_level: str = "INFO"

    # Ports of the embedded servers of `make run`; chosen away from 5432/6379/8333/9000.
    embedded_postgres_port: int = 54329
    embedded_redis_port: int = 56379
    embedded_s3_port: int = 18333

    # Outgoing mail (invitations). "smtp" sends through the server below; "outbox" (the default
    # in local) keeps messages in Redis for the operator's dev outbox page instead of sending them.
    mail_backend: Literal["smtp", "outbox"] = "smtp"
    mail_from: str = "Workdash <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""  # empty: no login
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True

    # Mail that a stranger can make the product send, per rolling window (services.people.quotas,
    # services.identity.signup); the next one is refused with "try again in N s".
    invite_mails_per_manager_per_hour: int = Field(default=30, ge=1)
    invite_mails_per_company_per_day: int = Field(default=100, ge=1)
    invite_mails_per_address_per_day: int = Field(default=5, ge=1)
    signup_mails_per_address_per_hour: int = Field(default=3, ge=1)
    password_reset_mails_per_address_per_hour: int = Field(default=3, ge=1)

    billing_tax_rate_bp: int = Field(default=0, ge=0, le=10_000)
    billing_due_days: int = Field(default=14, ge=0)
    billing_grace_days: int = Field(default=14, ge=0)
    payment_webhook_secret: SecretStr | None = None

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item for item in (part.strip() for part in value.split(",")) if item)
        return value

    @field_validator("forwarded_header", mode="before")
    @classmethod
    def _header_name(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        from services.core.client_ip import parse_trusted_proxies

        try:
            parse_trusted_proxies(value)
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {exc}") from None
        return value

    @field_validator("encryption_key")
    @classmethod
    def _check_encryption_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        try:
            raw = base64.urlsafe_b64decode(value.get_secret_value().encode())
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ValueError(
                "ENCRYPTION_KEY must be 32 random bytes in url-safe base64 "
                "(python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
            )
        return value

    @model_validator(mode="after")
    def _resolve_allowed_origins(self) -> Settings:
        try:
            own = origin_of(self.public_url, allow_path=True)
        except ValueError as exc:
            raise ValueError(f"PUBLIC_URL: {exc}") from None
        try:
            listed = tuple(dict.fromkeys(origin_of(item) for item in self.allowed_origins))
        except ValueError as exc:
            raise ValueError(f"ALLOWED_ORIGINS: {exc}") from None
        if listed and own not in listed:
            raise ValueError(f"ALLOWED_ORIGINS must include the origin of PUBLIC_URL ({own}): the app's own pages")
        self.allowed_origins = listed or (own, *(loopback_aliases(own) if self.env == "local" else ()))
        return self

    @model_validator(mode="after")
    def _default_mail_backend(self) -> Settings:
        # Local development sends nothing unless MAIL_BACKEND=smtp is set explicitly.
        if "mail_backend" not in self.model_fields_set and self.env == "local":
            self.mail_backend = "outbox"
        return self

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.env != "production":
            return self
        if self.secret_key.get_secret_value() in INSECURE_SECRETS or len(self.secret_key.get_secret_value()) < 32:
            raise ValueError(
                "SECRET_KEY is missing, a default, or shorter than 32 characters; "
                "set SECRET_KEY to a long random value (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not self.resolved_database_url:
            raise ValueError(
                "DATABASE_URL (or POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_HOST/POSTGRES_DB) must be set in production"
            )
        if not self.redis_url:
            raise ValueError("REDIS_URL must be set in production")
        if not self.s3_endpoint_url:
            raise ValueError("S3_ENDPOINT_URL must be set in production")
        if self.aws_secret_access_key.get_secret_value() in INSECURE_SECRETS | DEV_PASSWORDS:
            raise ValueError("AWS_SECRET_ACCESS_KEY is missing or a default; set a real S3 secret key")
        if self.mail_backend == "outbox":
            raise ValueError("MAIL_BACKEND=outbox keeps mail unsent (development only); use smtp in production")
        if urlsplit(self.public_url).scheme != "https" or not urlsplit(self.public_url).hostname:
            raise ValueError(
                f"PUBLIC_URL must be the https address users open (behind the TLS proxy), not {self.public_url!r}: "
                "over http the session cookie travels in clear text"
            )
        db_password_variable = "DATABASE_URL" if self.database_url else "POSTGRES_PASSWORD"
        for variable, url in (
            (db_password_variable, self.resolved_database_url),
            ("APP_DATABASE_URL (APP_DB_PASSWORD in docker compose)", self.app_database_url),
            ("SYSTEM_DATABASE_URL (SYSTEM_DB_PASSWORD in docker compose)", self.system_database_url),
            ("REDIS_URL (REDIS_PASSWORD in docker compose)", self.redis_url),
        ):
            if _url_password(url) in INSECURE_SECRETS | DEV_PASSWORDS:
                raise ValueError(f"{variable}: the password is a placeholder or a development default; set a real one")
        return self

    @property
    def resolved_database_url(self) -> str | None:
        """URL of the owner role (migrations), or None when an embedded server must provide it."""
        if self.database_url:
            return normalize_db_url(self.database_url)
        if self.postgres_host and self.postgres_user and self.postgres_db:
            password = self.postgres_password.get_secret_value() if self.postgres_password else ""
            auth = quote(self.postgres_user, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            return f"postgresql+psycopg://{auth}@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
        return None

    @property
    def uses_embedded_services(self) -> bool:
        return self.env in ("local", "test") and not (
            self.resolved_database_url and self.redis_url and self.s3_endpoint_url
        )

    @property
    def secure_cookies(self) -> bool:
        """Secure (and `__Host-` named) cookies: always in production, over https elsewhere but local."""
        return self.env == "production" or (self.env != "local" and self.public_url.startswith("https://"))


def origin_of(url: str, *, allow_path: bool = False) -> str:
    """The origin of `url` as browsers send it in `Origin`: lower-case scheme and host, the port only
    when it is not the scheme's default. ValueError for anything but an http(s) URL with a host (and,
    unless `allow_path`, with nothing after the host but an optional "/")."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r} is not a URL") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"{url!r} is not an http(s) origin such as https://work.example.com")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{url!r} carries credentials")
    if not allow_path and (parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ValueError(f"{url!r} has more than scheme://host[:port]")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}"


def loopback_aliases(origin: str) -> tuple[str, ...]:
    """The other spelling of a loopback origin (localhost <-> 127.0.0.1): Reflex prints the app's
    address as 127.0.0.1, so a developer may open either; only `local` uses this default."""
    for host, alias in (("://localhost", "://127.0.0.1"), ("://127.0.0.1", "://localhost")):
        scheme, found, rest = origin.partition(host)
        if found and (rest == "" or rest.startswith(":")):
            return (scheme + alias + rest,)
    return ()


def _url_password(url: str | None) -> str | None:
    """The password inside a URL (None when there is no URL or no password in it)."""
    if not url:
        return None
    try:
        password = urlsplit(url).password
    except ValueError:  # a malformed URL: the driver reports it with a better message
        return None
    return unquote(password) if password is not None else None


def normalize_db_url(url: str) -> str:
    """Accept the usual postgres:// spellings and always use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    environment = os.environ.get("ENV", "local")
    return Settings(_env_file=env_file_for(environment), _env_file_encoding="utf-8")
