"""The home page's project count cache (services/work/project_count.py), on real PostgreSQL and Redis:
an entry is served until a commit touches its company's projects or memberships (ORM rows or a bulk
statement), a rolled-back change bumps nothing, and each actor gets their own count.

The rows are committed for real (the count reads through the app's own transaction) and removed
afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlmodel import col, delete, update

from models import Company, Project, ProjectMember, ProjectStatus, Role, User
from services.core.actor import Actor
from services.core.redis_client import get_redis
from services.core.settings import get_settings
from services.identity import auth
from services.work import project_count
from services.work.project_count import company_key, visible_project_count
from tests.conftest import committed_session, delete_committed
from tests.factories import add_member, make_company, make_project, make_user
from tests.run_async import run_async

pytestmark = pytest.mark.integration


@dataclass
class World:
    company: Company
    manager: User
    worker: User
    project: Project

    def actor(self, user: User) -> Actor:
        return auth.actor_for(user, self.company)


@pytest.fixture
def world(owner_engine: Engine) -> Iterator[World]:
    project_count.forget_all()
    with committed_session(owner_engine) as setup:
        company = make_company(setup, "Count Co")
        manager = make_user(setup, company, Role.MANAGER)
        data = World(company, manager, make_user(setup, company, Role.WORKER), make_project(setup, company, "One"))
    try:
        yield data
    finally:
        delete_committed(owner_engine, companies=[data.company.id], users=[])
        project_count.forget_all()


class Counter:
    """The `run_blocking` the page passes: counts how often the database was asked."""

    def __init__(self) -> None:
        self.database_reads = 0

    async def __call__(self, fn: Callable[[], int]) -> int:
        self.database_reads += 1
        return await asyncio.to_thread(fn)


def count(actor: Actor, counter: Counter) -> int:
    return run_async(visible_project_count(actor, counter))


def test_served_from_the_cache_until_a_commit_adds_a_project(world: World, owner_engine: Engine) -> None:
    manager, counter = world.actor(world.manager), Counter()
    assert count(manager, counter) == 1
    assert count(manager, counter) == 1
    assert counter.database_reads == 1  # the second call was a hit

    with committed_session(owner_engine) as session:
        make_project(session, world.company, "Two")
    assert count(manager, counter) == 2
    assert counter.database_reads == 2


def test_membership_changes_reach_a_workers_count(world: World, owner_engine: Engine) -> None:
    worker, counter = world.actor(world.worker), Counter()
    assert count(worker, counter) == 0
    with committed_session(owner_engine) as session:
        add_member(session, world.project, world.worker)
    assert count(worker, counter) == 1

    with committed_session(owner_engine) as session:  # a bulk statement: the global generation
        session.execute(delete(ProjectMember).where(col(ProjectMember.user_id) == world.worker.id))
    assert count(worker, counter) == 0
    assert counter.database_reads == 3


def test_a_projects_own_columns_bump_nothing(world: World, owner_engine: Engine) -> None:
    """Renaming, archiving or numbering tasks changes no count: the entry stays (no global bump either)."""
    manager, counter = world.actor(world.manager), Counter()
    assert count(manager, counter) == 1
    with committed_session(owner_engine) as session:
        project = session.get(Project, world.project.id)
        assert project is not None
        project.name, project.status = "Renamed", ProjectStatus.ARCHIVED
        session.add(project)
        session.flush()
        session.execute(
            update(Project).where(col(Project.id) == project.id).values(task_counter=Project.task_counter + 1)
        )
    assert count(manager, counter) == 1
    assert counter.database_reads == 1


def test_each_actor_has_their_own_count(world: World) -> None:
    counter = Counter()
    assert count(world.actor(world.manager), counter) == 1
    assert count(world.actor(world.worker), counter) == 0
    assert counter.database_reads == 2


def test_a_rolled_back_change_bumps_nothing(world: World, owner_engine: Engine) -> None:
    redis = get_redis()
    before = redis.get(company_key(world.company.id))
    with committed_session(owner_engine) as session:
        make_project(session, world.company, "Never")
        session.rollback()
    assert redis.get(company_key(world.company.id)) == before

    with committed_session(owner_engine) as session:
        make_project(session, world.company, "Kept")
    assert redis.get(company_key(world.company.id)) != before


def test_another_companys_commit_leaves_the_entry_alone(world: World, owner_engine: Engine) -> None:
    manager, counter = world.actor(world.manager), Counter()
    assert count(manager, counter) == 1
    other_id = uuid.uuid4()
    with committed_session(owner_engine) as session:
        other = make_company(session, "Other Co", id=other_id)
        make_project(session, other, "Theirs")
    try:
        assert count(manager, counter) == 1
        assert counter.database_reads == 1
    finally:
        delete_committed(owner_engine, companies=[other_id], users=[])


def test_without_redis_every_count_reads_the_database(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    unreachable = get_settings().model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    monkeypatch.setattr(project_count, "get_settings", lambda: unreachable)
    manager, counter = world.actor(world.manager), Counter()
    assert count(manager, counter) == 1
    assert count(manager, counter) == 1
    assert counter.database_reads == 2
