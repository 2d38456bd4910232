"""ID replay: users of company B send every id of company A's rows to every handler and route that
takes an id. The answer must be indistinguishable from the answer to an id that does not exist."""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from dashboard.features.companies.state import DETAIL_PARAM, CompanyDetailState
from dashboard.features.files.state import PROJECT_PARAM as FILES_PARAM
from dashboard.features.files.state import FilesState
from dashboard.features.projects.state import PROJECT_PARAM, ProjectDetailState
from models import Role
from services.core.db import system_scope
from tests.e2e.ws import EventSocket, all_handlers, login_cookie, merged_delta, without_router
from tests.security.world import PASSWORD, World, build_world

pytestmark = pytest.mark.e2e

ID_PARAM = re.compile(r"(^|_)id$")


@pytest.fixture(scope="module")
def world(e2e_database: tuple[str, str]) -> Iterator[World]:
    engine: Engine = create_engine(e2e_database[0])
    with system_scope(engine) as session:
        built = build_world(session)
        session.expunge_all()
    yield built
    engine.dispose()


def victim_ids(world: World) -> list[str]:
    a = world.own
    rows = (
        a.company,
        a.manager,
        a.target,
        a.client_in,
        a.project,
        a.invitation,
        a.target_session,
        a.file,
        a.task,
        a.comment,
        a.notification,
    )
    return [str(row.id) for row in rows]


def id_handlers() -> list[tuple[str, list[str]]]:
    """Every handler with an id-like parameter, with its parameter names."""
    found = []
    for name, handler in all_handlers():
        params = [p for p in inspect.signature(handler.fn).parameters if p not in ("self", "actor")]
        if any(ID_PARAM.search(p) for p in params):
            found.append((name, params))
    return found


def payload_for(params: list[str], target: str) -> dict[str, Any]:
    values: dict[str, Any] = {"active": False, "role": "client", "forward": True}
    return {p: target if ID_PARAM.search(p) else values.get(p, "x") for p in params}


def normalized(updates: list[dict[str, Any]], target: str) -> str:
    # Merged: how Reflex splits one answer into updates (an empty one here or there) is not an answer.
    merged = merged_delta([{"delta": delta} for delta in without_router(updates)])
    events = [e for update in updates for e in update.get("events") or []]
    return repr((sorted(merged.items()), events)).replace(target, "<ID>")


def answer(app_url: str, cookie: str, name: str, payload: dict[str, Any], target: str, **route: Any) -> str:
    socket = EventSocket(app_url, cookie)  # a fresh tab each time: earlier answers must not hide later ones
    try:
        return normalized(socket.call(name, payload, **route), target)
    finally:
        socket.close()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.WORKER, Role.CLIENT])
def test_other_tenants_ids_look_missing_in_every_handler(app_url: str, world: World, role: Role) -> None:
    attacker = world.other.actor_user(role, True)
    cookie = login_cookie(app_url, attacker.email, PASSWORD)
    handlers = id_handlers()
    assert len(handlers) >= 6, handlers  # team, invitations, sessions, company: the id-taking handlers exist
    differences = []
    for name, params in handlers:
        for target in victim_ids(world):
            missing = str(uuid.uuid4())
            replay = answer(app_url, cookie, name, payload_for(params, target), target)
            control = answer(app_url, cookie, name, payload_for(params, missing), missing)
            if replay != control:
                differences.append((name, target, replay[:300], control[:300]))
    assert not differences, differences[:3]


def test_company_page_and_export_route_treat_foreign_ids_as_missing(app_url: str, world: World) -> None:
    attacker = world.other.manager
    cookie = login_cookie(app_url, attacker.email, PASSWORD)
    load = f"{CompanyDetailState.get_full_name()}.load"
    for target in victim_ids(world):
        missing = str(uuid.uuid4())
        replay = answer(app_url, cookie, load, {}, target, path=f"/companies/{target}", query={DETAIL_PARAM: target})
        control = answer(
            app_url, cookie, load, {}, missing, path=f"/companies/{missing}", query={DETAIL_PARAM: missing}
        )
        assert replay == control
        responses = []
        for ref in (target, missing):
            response = httpx.get(
                f"{app_url}/api/audit/export.csv",
                params={"company_id": ref, "user_id": ref},
                cookies={"wd_session": cookie},
                timeout=30,
            )
            responses.append((response.status_code, response.text.replace(ref, "<ID>")))
        assert responses[0] == responses[1]


def test_files_page_and_routes_treat_foreign_ids_as_missing(app_url: str, world: World) -> None:
    attacker = world.other.worker_in
    cookie = login_cookie(app_url, attacker.email, PASSWORD)
    load = f"{FilesState.get_full_name()}.load_project"
    for target in victim_ids(world):
        missing = str(uuid.uuid4())
        replay, control = (
            answer(app_url, cookie, load, {}, ref, path=f"/projects/{ref}/files", query={FILES_PARAM: ref})
            for ref in (target, missing)
        )
        assert replay == control
        responses = []
        for ref in (target, missing):
            answers = [
                httpx.get(f"{app_url}/api/files/{ref}/{what}", cookies={"wd_session": cookie}, timeout=30)
                for what in ("download", "preview")
            ]
            answers.append(
                httpx.post(
                    f"{app_url}/api/files/upload",
                    params={"project": ref},
                    content=b"hello\n",
                    headers={"x-file-name": "a.txt", "origin": app_url},
                    cookies={"wd_session": cookie},
                    timeout=30,
                )
            )
            responses.append([(r.status_code, r.text.replace(ref, "<ID>")) for r in answers])
        assert responses[0] == responses[1]
        assert {status for status, _ in responses[0]} == {404}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.WORKER, Role.CLIENT])
def test_project_page_treats_foreign_ids_as_missing(app_url: str, world: World, role: Role) -> None:
    attacker = world.other.actor_user(role, True)
    cookie = login_cookie(app_url, attacker.email, PASSWORD)
    load = f"{ProjectDetailState.get_full_name()}.load"
    for target in victim_ids(world):
        missing = str(uuid.uuid4())
        replay = answer(app_url, cookie, load, {}, target, path=f"/projects/{target}", query={PROJECT_PARAM: target})
        control = answer(
            app_url, cookie, load, {}, missing, path=f"/projects/{missing}", query={PROJECT_PARAM: missing}
        )
        assert replay == control
