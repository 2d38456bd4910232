"""Settings: production refuses unsafe configuration; database URL resolution; embedded servers.

No servers needed. Each test builds `Settings(_env_file=None)` from a cleaned environment, so
neither a developer's `.env` nor variables set by other tests (the integration fixtures export
DATABASE_URL, REDIS_URL, ...) can leak in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from dotenv import dotenv_values
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from services.core.settings import PROJECT_ROOT, Settings, normalize_db_url

SettingsFactory = Callable[..., Settings]

STRONG = {
    "SECRET_KEY": secrets.token_urlsafe(48),
    "POSTGRES_PASSWORD": "Owner-" + secrets.token_urlsafe(18),
    "APP_DB_PASSWORD": "App-" + secrets.token_urlsafe(18),
    "SYSTEM_DB_PASSWORD": "System-" + secrets.token_urlsafe(18),
    "REDIS_PASSWORD": "Redis-" + secrets.token_urlsafe(18),
    "AWS_SECRET_ACCESS_KEY": "S3-" + secrets.token_urlsafe(18),
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every variable Settings reads (and ENV, which the test conftest sets)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings_from_env(monkeypatch: pytest.MonkeyPatch) -> SettingsFactory:
    """Settings built from the given environment variables only (no env file)."""

    def build(**env: str) -> Settings:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return Settings(_env_file=None)

    return build


def production_env(**overrides: str) -> dict[str, str]:
    """A complete, acceptable production configuration (external servers, strong secrets)."""
    env = {
        "ENV": "production",
        "SECRET_KEY": STRONG["SECRET_KEY"],
        "POSTGRES_USER": "saasuser",
        "POSTGRES_PASSWORD": STRONG["POSTGRES_PASSWORD"],
        "POSTGRES_HOST": "db",
        "POSTGRES_DB": "saasdb",
        "REDIS_URL": f"redis://:{STRONG['REDIS_PASSWORD']}@redis:6379/0",
        "S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_SECRET_ACCESS_KEY": STRONG["AWS_SECRET_ACCESS_KEY"],
        "PUBLIC_URL": "https://work.example.com",
    }
    env.update(overrides)
    return env


# ---- production refuses to start ---------------------------------------------------------------


def test_a_complete_production_configuration_is_accepted(settings_from_env: SettingsFactory) -> None:
    settings = settings_from_env(**production_env())
    assert settings.env == "production"
    assert not settings.uses_embedded_services


@pytest.mark.parametrize(
    "secret_key",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("change-me", id="example-placeholder"),
        pytest.param("dev-secret-key-change-me", id="dev-default"),
        pytest.param("x" * 31, id="31-characters"),
    ],
)
def test_production_refuses_a_missing_default_or_short_secret_key(
    settings_from_env: SettingsFactory, secret_key: str | None
) -> None:
    env = production_env()
    del env["SECRET_KEY"]
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        settings_from_env(**env)


def test_the_secret_key_rule_applies_only_to_production(settings_from_env: SettingsFactory) -> None:
    for environment in ("local", "test", "ci"):
        assert settings_from_env(ENV=environment).secret_key.get_secret_value() == "change-me"


@pytest.mark.parametrize(
    ("removed", "named"),
    [
        (("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_HOST", "POSTGRES_DB"), "DATABASE_URL"),
        (("REDIS_URL",), "REDIS_URL"),
        (("S3_ENDPOINT_URL",), "S3_ENDPOINT_URL"),
        (("AWS_SECRET_ACCESS_KEY",), "AWS_SECRET_ACCESS_KEY"),
    ],
)
def test_production_refuses_missing_servers_and_names_the_variable(
    settings_from_env: SettingsFactory,
    removed: tuple[str, ...],
    named: str,
) -> None:
    env = {k: v for k, v in production_env().items() if k not in removed}
    with pytest.raises(ValidationError, match=named):
        settings_from_env(**env)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"POSTGRES_PASSWORD": "change-me"}, "POSTGRES_PASSWORD"),
        ({"POSTGRES_PASSWORD": "saaspass"}, "POSTGRES_PASSWORD"),
        ({"DATABASE_URL": "postgresql://saasuser:saaspass@db/saasdb"}, "DATABASE_URL"),
        ({"APP_DATABASE_URL": "postgresql://workdash_app:apppass@db/saasdb"}, "APP_DATABASE_URL"),
        ({"SYSTEM_DATABASE_URL": "postgresql://workdash_system:systempass@db/saasdb"}, "SYSTEM_DATABASE_URL"),
        ({"SYSTEM_DATABASE_URL": "postgresql://workdash_system:change-me@db/saasdb"}, "SYSTEM_DATABASE_URL"),
        ({"REDIS_URL": "redis://:change-me@redis:6379/0"}, "REDIS_URL"),
        ({"AWS_SECRET_ACCESS_KEY": "workdash-dev-secret"}, "AWS_SECRET_ACCESS_KEY"),
        ({"AWS_SECRET_ACCESS_KEY": "change-me"}, "AWS_SECRET_ACCESS_KEY"),
    ],
)
def test_production_refuses_placeholder_passwords_and_names_the_variable(
    settings_from_env: SettingsFactory,
    overrides: dict[str, str],
    named: str,
) -> None:
    with pytest.raises(ValidationError, match=named):
        settings_from_env(**production_env(**overrides))


def _compose_environment(values: dict[str, str]) -> dict[str, str]:
    """What docker-compose.yml hands the app container when .env holds `values`."""
    env = dict(values)
    env.update(
        {
            "DATABASE_URL": "",
            "POSTGRES_HOST": "db",
            "APP_DATABASE_URL": (
                f"postgresql+psycopg://{values['APP_DB_ROLE']}:{values['APP_DB_PASSWORD']}@db:5432/{values['POSTGRES_DB']}"
            ),
            "SYSTEM_DATABASE_URL": (
                f"postgresql+psycopg://{values['SYSTEM_DB_ROLE']}:{values['SYSTEM_DB_PASSWORD']}@db:5432/{values['POSTGRES_DB']}"
            ),
            "REDIS_URL": f"redis://:{values['REDIS_PASSWORD']}@redis:6379/0",
            "S3_ENDPOINT_URL": "http://minio:9000",
        }
    )
    return env


def _production_example() -> dict[str, str]:
    values = dotenv_values(PROJECT_ROOT / ".env.production.example")
    return {k: v for k, v in values.items() if v is not None}


def test_production_example_is_refused_as_shipped(settings_from_env: SettingsFactory) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        settings_from_env(**_compose_environment(_production_example()))


@pytest.mark.parametrize("placeholder", sorted(STRONG))
def test_every_placeholder_of_the_production_example_is_refused(
    settings_from_env: SettingsFactory,
    placeholder: str,
) -> None:
    """Fill in every secret but one: the app still refuses, and says which one."""
    values = _production_example() | {k: v for k, v in STRONG.items() if k != placeholder}
    assert values[placeholder] == "change-me"
    named = {
        "APP_DB_PASSWORD": "APP_DATABASE_URL",
        "SYSTEM_DB_PASSWORD": "SYSTEM_DATABASE_URL",
        "REDIS_PASSWORD": "REDIS_URL",
    }.get(placeholder, placeholder)
    with pytest.raises(ValidationError, match=named):
        settings_from_env(**_compose_environment(values))


def test_production_example_with_real_secrets_is_accepted(settings_from_env: SettingsFactory) -> None:
    settings = settings_from_env(**_compose_environment(_production_example() | STRONG))
    assert settings.env == "production"
    assert settings.resolved_database_url is not None
    assert make_url(settings.resolved_database_url).host == "db"


@pytest.mark.parametrize(
    "public_url",
    ["http://work.example.com", "http://localhost:8000", "work.example.com", "ftp://work.example.com", "https://"],
)
def test_production_refuses_a_public_url_that_is_not_https(settings_from_env: SettingsFactory, public_url: str) -> None:
    """Session cookies would travel in clear text, and Secure cookies would not be set at all."""
    with pytest.raises(ValidationError, match="PUBLIC_URL"):
        settings_from_env(**production_env(PUBLIC_URL=public_url))


def test_an_http_public_url_is_fine_outside_production(settings_from_env: SettingsFactory) -> None:
    for environment in ("local", "test", "ci"):
        assert settings_from_env(ENV=environment, PUBLIC_URL="http://localhost:8000").public_url.startswith("http:")


# ---- database URL ------------------------------------------------------------------------------


def test_database_url_wins_over_postgres_variables(settings_from_env: SettingsFactory) -> None:
    settings = settings_from_env(
        DATABASE_URL="postgresql+psycopg://managed:pw@managed.example.com:6543/prod",
        POSTGRES_USER="saasuser",
        POSTGRES_PASSWORD="saaspass",
        POSTGRES_HOST="db",
        POSTGRES_DB="saasdb",
    )
    assert settings.resolved_database_url == "postgresql+psycopg://managed:pw@managed.example.com:6543/prod"


def test_postgres_variables_build_a_psycopg_url_with_the_password_escaped(settings_from_env: SettingsFactory) -> None:
    password = "p@ss:w/rd%?#&= word"
    settings = settings_from_env(
        POSTGRES_USER="saas user",
        POSTGRES_PASSWORD=password,
        POSTGRES_HOST="db",
        POSTGRES_PORT="5433",
        POSTGRES_DB="saasdb",
    )
    url = settings.resolved_database_url
    assert url is not None
    assert url.startswith("postgresql+psycopg://")
    assert password not in url
    parsed = make_url(url)
    assert parsed.drivername == "postgresql+psycopg"
    assert parsed.username == "saas user"
    assert parsed.password == password
    assert (parsed.host, parsed.port, parsed.database) == ("db", 5433, "saasdb")


def test_postgres_variables_without_a_password(settings_from_env: SettingsFactory) -> None:
    settings = settings_from_env(POSTGRES_USER="saasuser", POSTGRES_HOST="db", POSTGRES_DB="saasdb")
    assert settings.resolved_database_url == "postgresql+psycopg://saasuser@db:5432/saasdb"


def test_incomplete_postgres_variables_give_no_url(settings_from_env: SettingsFactory) -> None:
    assert settings_from_env(POSTGRES_USER="saasuser", POSTGRES_DB="saasdb").resolved_database_url is None


@pytest.mark.parametrize("scheme", ["postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"])
def test_postgres_url_spellings_are_normalized_to_psycopg3(settings_from_env: SettingsFactory, scheme: str) -> None:
    settings = settings_from_env(DATABASE_URL=f"{scheme}u:p@h:5432/d")
    assert settings.resolved_database_url == "postgresql+psycopg://u:p@h:5432/d"
    assert normalize_db_url(f"{scheme}u:p@h/d") == "postgresql+psycopg://u:p@h/d"


# ---- embedded servers --------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["local", "test"])
def test_local_and_test_without_external_servers_use_embedded_services(
    settings_from_env: SettingsFactory, environment: str
) -> None:
    settings = settings_from_env(ENV=environment)
    assert settings.resolved_database_url is None
    assert settings.uses_embedded_services


def test_local_with_all_external_servers_uses_them(settings_from_env: SettingsFactory) -> None:
    settings = settings_from_env(
        ENV="local",
        DATABASE_URL="postgresql://u:p@localhost/saasdb",
        REDIS_URL="redis://localhost:6379/0",
        S3_ENDPOINT_URL="http://localhost:9000",
    )
    assert not settings.uses_embedded_services


def test_local_with_only_some_external_servers_still_starts_its_own(settings_from_env: SettingsFactory) -> None:
    settings = settings_from_env(ENV="local", DATABASE_URL="postgresql://u:p@localhost/saasdb")
    assert settings.uses_embedded_services


def test_ci_never_uses_embedded_services(settings_from_env: SettingsFactory) -> None:
    assert not settings_from_env(ENV="ci").uses_embedded_services


# ---- allowed origins and cookies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("public_url", "origin"),
    [
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://Work.Example.com:443/app/", "https://work.example.com"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ],
)
def test_allowed_origins_default_to_the_origin_of_public_url(
    settings_from_env: SettingsFactory, public_url: str, origin: str
) -> None:
    # outside `local` (there both loopback spellings are allowed: the test below)
    assert settings_from_env(ENV="test", PUBLIC_URL=public_url).allowed_origins == (origin,)


def test_local_allows_both_loopback_spellings_by_default(settings_from_env: SettingsFactory) -> None:
    """Reflex prints the local app as http://127.0.0.1:8000 while PUBLIC_URL says localhost."""
    local = settings_from_env(ENV="local", PUBLIC_URL="http://localhost:8000")
    assert local.allowed_origins == ("http://localhost:8000", "http://127.0.0.1:8000")
    assert settings_from_env(ENV="local", PUBLIC_URL="http://127.0.0.1:9000/").allowed_origins == (
        "http://127.0.0.1:9000",
        "http://localhost:9000",
    )
    assert settings_from_env(ENV="local", PUBLIC_URL="http://localhost.example.com").allowed_origins == (
        "http://localhost.example.com",
    )
    assert settings_from_env(ENV="test", PUBLIC_URL="http://localhost:8000").allowed_origins == (
        "http://localhost:8000",
    )
    listed = settings_from_env(ENV="local", PUBLIC_URL="http://localhost:8000", ALLOWED_ORIGINS="http://localhost:8000")
    assert listed.allowed_origins == ("http://localhost:8000",)


def test_allowed_origins_are_a_comma_separated_list_in_the_browsers_spelling(
    settings_from_env: SettingsFactory,
) -> None:
    settings = settings_from_env(
        PUBLIC_URL="https://work.example.com",
        ALLOWED_ORIGINS=" https://work.example.com/ , HTTPS://Admin.Example.com:8443,http://[::1]:80",
    )
    assert settings.allowed_origins == ("https://work.example.com", "https://admin.example.com:8443", "http://[::1]")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("*", id="wildcard"),
        pytest.param("https://work.example.com, *", id="wildcard-in-list"),
        pytest.param("https://work.example.com,https://other.example.com/path", id="path"),
        pytest.param("https://work.example.com,https://other.example.com?x=1", id="query"),
        pytest.param("https://work.example.com,ftp://other.example.com", id="scheme"),
        pytest.param("https://work.example.com,https://user@other.example.com", id="credentials"),
        pytest.param("https://work.example.com,other.example.com", id="no-scheme"),
        pytest.param("https://work.example.com,null", id="null"),
        pytest.param("https://other.example.com", id="without-public-url"),
    ],
)
def test_allowed_origins_refuse_anything_but_exact_origins_including_public_urls(
    settings_from_env: SettingsFactory, value: str
) -> None:
    with pytest.raises(ValidationError, match="ALLOWED_ORIGINS"):
        settings_from_env(PUBLIC_URL="https://work.example.com", ALLOWED_ORIGINS=value)


def test_a_public_url_without_a_host_is_refused(settings_from_env: SettingsFactory) -> None:
    with pytest.raises(ValidationError, match="PUBLIC_URL"):
        settings_from_env(PUBLIC_URL="work.example.com")


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        pytest.param(production_env(PUBLIC_URL="https://work.example.com"), True, id="production"),
        pytest.param(production_env(), True, id="production-even-over-http"),
        pytest.param({"ENV": "test", "PUBLIC_URL": "https://work.example.com"}, True, id="test-over-https"),
        pytest.param({"ENV": "test"}, False, id="test-over-http"),
        pytest.param({"ENV": "local", "PUBLIC_URL": "https://work.example.com"}, False, id="local"),
    ],
)
def test_production_cookies_are_always_secure(
    settings_from_env: SettingsFactory, env: dict[str, str], secure: bool
) -> None:
    assert settings_from_env(**env).secure_cookies is secure


# ---- sources and documentation -----------------------------------------------------------------


def test_real_environment_wins_over_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("S3_BUCKET=from-file\nLOG_LEVEL=DEBUG\n", encoding="utf-8")
    monkeypatch.setenv("S3_BUCKET", "from-environment")
    settings = Settings(_env_file=env_file)
    assert settings.s3_bucket == "from-environment"
    assert settings.log_level == "DEBUG"


def test_every_setting_is_documented() -> None:
    """docs/configuration.md lists every variable Settings reads (the README copies that table)."""
    docs = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in docs]
    assert not missing, f"add these to docs/configuration.md: {missing}"


def test_every_setting_is_in_the_local_example() -> None:
    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"{name.upper()}=" not in example]
    assert not missing, f"add these to .env.example (commented out if optional): {missing}"
