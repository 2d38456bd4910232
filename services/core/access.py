"""Tenant rows by id, looked up only where the actor may look (in the style of Zulip's `access_*_by_id`).

Tenant isolation, wall 1 (wall 2 is row-level security, services.core.db). Every service that loads
a row named by an id it was given goes through `access_by_id` (one row) or `access_all_by_id`
(several): the row must exist AND lie inside the scope the policy gives the actor for the action at
hand, or the answer is `NotFound`, exactly what a missing row gets. So another company's id, another
user's session id and an id that names nothing cannot be told apart. `in_scope` is the same rule as
a WHERE condition, for the queries that list rows rather than name them.

What each policy scope reaches (services.core.policy.Scope):
- ALL: every row (the operator; its tenant scope bypasses row-level security too);
- COMPANY: rows of the actor's company (`company_id`; of `Company` itself, the actor's own);
- PROJECTS: rows of the actor's company on projects the actor is a member of (`Project` itself, or
  rows with a `project_id`);
- SELF: the actor's own rows (`User`: the actor; rows with a `user_id`: theirs).
A model the scope cannot be decided for is a programming error (TypeError), never a silent "all".

Ids arrive as `uuid.UUID`: parsing belongs to the edge (handler argument parsers, HTTP routes),
which answers a malformed id with this same NotFound. `for_update=True` locks what it returns
(`SELECT … FOR UPDATE`), several rows in id order so two callers cannot deadlock on them; the
caller's transaction holds the locks until it ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, col, select

from models import Company, Project, ProjectMember, User
from services.core.actor import Actor
from services.core.errors import NotFound
from services.core.policy import Action, Scope, authorize

Row = TypeVar("Row", bound=SQLModel)


def access_by_id(
    session: Session, actor: Actor, action: Action, model: type[Row], row_id: uuid.UUID, *, for_update: bool = False
) -> Row:
    """The `model` row `row_id` if the actor may reach it for `action`; NotFound otherwise (missing
    or out of scope alike). PermissionDenied when the policy refuses the action itself."""
    query = select(model).where(_id_column(model) == row_id, in_scope(actor, action, model))
    if for_update:
        query = query.with_for_update(of=model)
    row = session.exec(query).first()
    if row is None:
        raise NotFound()
    return row


def access_all_by_id(
    session: Session,
    actor: Actor,
    action: Action,
    model: type[Row],
    row_ids: Iterable[uuid.UUID],
    *,
    for_update: bool = False,
) -> list[Row]:
    """The `model` rows of `row_ids` (duplicates dropped, in the given order), each of which the
    actor must reach for `action`: one missing or out of scope makes the whole call NotFound."""
    wanted = list(dict.fromkeys(row_ids))
    if not wanted:
        authorize(actor, action)  # an empty list still needs the right to act
        return []
    id_column = _id_column(model)
    query = select(model).where(id_column.in_(wanted), in_scope(actor, action, model))
    if for_update:
        query = query.order_by(id_column).with_for_update(of=model)
    found = {getattr(row, id_column.key): row for row in session.exec(query).all()}
    if len(found) != len(wanted):
        raise NotFound()
    return [found[row_id] for row_id in wanted]


def in_scope(actor: Actor, action: Action, model: type[SQLModel]) -> ColumnElement[bool]:
    """A WHERE condition: the rows of `model` the actor may reach for `action` (PermissionDenied
    when the policy refuses the action)."""
    scope = authorize(actor, action)
    if scope is Scope.ALL:
        return sa.true()
    if scope is Scope.SELF:
        return _own_rows(actor, model)
    if actor.company_id is None:  # only the operator has no company, and it acts in scope ALL
        return sa.false()
    company = _company_rows(actor.company_id, model)
    if scope is Scope.COMPANY:
        return company
    return sa.and_(company, _member_projects(actor, model))


def company_id_of(actor: Actor) -> uuid.UUID:
    """The actor's company, for the writes that stamp it on new rows; the operator has none, so no
    tenant row can be theirs: NotFound."""
    if actor.company_id is None:
        raise NotFound()
    return actor.company_id


# ---- internals ------------------------------------------------------------------------------------


def _column(model: type[SQLModel], name: str) -> sa.Column[Any] | None:
    columns: sa.ColumnCollection[str, sa.Column[Any]] = sa.inspect(model).columns
    return columns.get(name)


def _id_column(model: type[SQLModel]) -> sa.Column[Any]:
    column = _column(model, "id")
    if column is None:
        raise TypeError(f"{model.__name__} has no single `id` column to look rows up by")
    return column


def _own_rows(actor: Actor, model: type[SQLModel]) -> ColumnElement[bool]:
    if model is User:
        return col(User.id) == actor.user_id
    owner = _column(model, "user_id")
    if owner is None:
        raise TypeError(f"{model.__name__} rows belong to no user: scope {Scope.SELF} cannot apply")
    return owner == actor.user_id


def _company_rows(company_id: uuid.UUID, model: type[SQLModel]) -> ColumnElement[bool]:
    if model is Company:
        return col(Company.id) == company_id
    tenant = _column(model, "company_id")
    if tenant is None:
        raise TypeError(f"{model.__name__} rows belong to no company: a company scope cannot apply")
    return tenant == company_id


def _member_projects(actor: Actor, model: type[SQLModel]) -> ColumnElement[bool]:
    """The row's project is one the actor is a member of."""
    project = col(Project.id) if model is Project else _column(model, "project_id")
    if project is None:
        raise TypeError(f"{model.__name__} rows belong to no project: scope {Scope.PROJECTS} cannot apply")
    return sa.exists().where(
        col(ProjectMember.company_id) == actor.company_id,
        col(ProjectMember.project_id) == project,
        col(ProjectMember.user_id) == actor.user_id,
    )
