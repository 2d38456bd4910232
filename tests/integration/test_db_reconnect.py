"""The app pool's connections are not pinged on checkout (services/core/db.py): a scope's first
statement finds a dead one, and the scope begins again on a fresh connection, so no unit of work
fails. The system role's small pool pings on checkout instead; a dead connection is replaced too."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models import Role
from services.core.actor import Actor
from services.core.db import get_engine, get_system_engine, system_scope, tenant_scope

pytestmark = pytest.mark.integration

BACKEND_PID = sa.text("SELECT pg_backend_pid()")
SETTINGS = sa.text("SELECT current_setting('app.company_id'), current_setting('app.rls_bypass')")


def kill_backend(engine: Engine, pid: int) -> bool:
    """Terminate one pooled connection's backend (a database restart, as the pool sees it)."""
    with engine.connect() as killer:
        return bool(killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar())


MANAGER = Actor(user_id=uuid.uuid4(), company_id=uuid.uuid4(), role=Role.MANAGER, full_name="M", email="m@x.example")


@pytest.fixture
def one_pooled_connection(app_engine: Engine) -> int:
    """The app's pool holding exactly one idle connection; returns its backend's pid."""
    get_engine().dispose()
    with tenant_scope(MANAGER) as session:
        pid = session.execute(BACKEND_PID).scalar()
    assert get_engine().pool.checkedin() == 1 and isinstance(pid, int)
    return pid


def test_system_scope_replaces_a_dead_pooled_connection(app_engine: Engine) -> None:
    system = get_system_engine()
    system.dispose()
    with system_scope() as session:
        pid = session.execute(BACKEND_PID).scalar()
    assert system.pool.checkedin() == 1
    killer = sa.create_engine(system.url, poolclass=sa.NullPool)  # not from the pool it empties
    assert kill_backend(killer, pid)
    killer.dispose()
    with system_scope() as session:
        assert session.execute(BACKEND_PID).scalar() != pid
        assert session.execute(sa.text("SELECT count(*) FROM companies")).scalar() is not None


def test_tenant_scope_replaces_a_dead_pooled_connection(app_engine: Engine, one_pooled_connection: int) -> None:
    assert kill_backend(app_engine, one_pooled_connection)
    with tenant_scope(MANAGER) as session:
        assert session.execute(BACKEND_PID).scalar() != one_pooled_connection
        assert tuple(session.execute(SETTINGS).one()) == (str(MANAGER.company_id), "off")
    with tenant_scope(MANAGER) as session:  # and the next transaction is scoped again
        assert tuple(session.execute(SETTINGS).one()) == (str(MANAGER.company_id), "off")
