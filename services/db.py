"""Engine and sessions. Every unit of work is one transaction: commit on success, roll back on any error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlmodel import Session

from services.errors import ServiceUnavailable
from services.settings import get_settings, normalize_db_url


def app_database_url() -> str:
    settings = get_settings()
    url = settings.app_database_url or settings.resolved_database_url
    if not url:
        raise ServiceUnavailable("No database configured: set DATABASE_URL or POSTGRES_* (or start with `make run`).")
    return normalize_db_url(url)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    return create_engine(url or app_database_url(), pool_pre_ping=True, pool_size=5, max_overflow=10)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
