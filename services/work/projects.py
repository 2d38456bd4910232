"""Projects as the actor may see them (managers all of their company's, workers and clients theirs),
and the manager's changes to them: create, edit, archive and restore, delete.

Every project named by an id is looked up through services.core.access within the policy's scope
for the action, so another company's project, one the actor is not on and an id that names nothing
are the same NotFound. Writes lock the project row first (`FOR UPDATE`), so two managers editing it
are serialized; every change writes its audit entry in the same transaction. An archived project is
read-only: writes on its work go through `project_for_work`; its own fields cannot be edited until a
manager restores it.

Creating and restoring a project first asks billing for room in the plan's projects
(`services.billing.check_project_limit`, LimitReached with a translated message); archived projects
do not count.

The key prefixes task numbers (WEB-42): 2-10 upper-case letters and digits, starting with a letter,
unique in the company. A clash found by the database (two managers picking the same key at once) is
the same translated Conflict as one found by the lookup.

Deleting cascades in the database (docs/db_cascades.md): tasks, their comments, labels, followers,
notifications, files and memberships go with the project. The manager must type the project's name.
File objects in S3 are not deleted by the database: `delete_project` returns their storage keys for
the caller to remove after the commit (there is no upload yet, so there are none today).

Clients see a project's client-facing description, never the internal one, no member's e-mail and
no other client.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models import Company, Project, ProjectMember, ProjectStatus, Role, StoredFile, Task, TaskStatus, User
from services import audit, billing
from services.audit import AuditAction, AuditTarget
from services.core.access import access_by_id, company_id_of, in_scope
from services.core.actor import Actor
from services.core.errors import Conflict, ValidationFailed
from services.core.policy import Action, authorize, scope_for
from services.core.search import LIKE_ESCAPE, like_pattern

KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
KEY_CONSTRAINT = "uq_projects_company_id_key"  # unique (company_id, key)
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 20_000
MAX_SEARCH_LENGTH = 200
DONE_STATUSES = (TaskStatus.DONE, TaskStatus.APPROVED)  # what counts as progress
MEMBER_ROLES = (Role.WORKER, Role.CLIENT)  # managers see every project; memberships are for these

# Cyrillic -> Latin for key suggestions (keys are ASCII; names are often Russian).
_TRANSLIT = str.maketrans(
    {
        "А": "A", "Б": "B", "В": "V", "Г": "G", "Д": "D", "Е": "E", "Ё": "E", "Ж": "ZH", "З": "Z", "И": "I",
        "Й": "Y", "К": "K", "Л": "L", "М": "M", "Н": "N", "О": "O", "П": "P", "Р": "R", "С": "S", "Т": "T",
        "У": "U", "Ф": "F", "Х": "KH", "Ц": "TS", "Ч": "CH", "Ш": "SH", "Щ": "SCH", "Ъ": "", "Ы": "Y", "Ь": "",
        "Э": "E", "Ю": "YU", "Я": "YA",
    }
)  # fmt: skip


class ProjectArchived(Conflict):
    """A write on an archived project's work: it is read-only until a manager restores it."""

    message_key = "error.project_archived"


@dataclass(frozen=True)
class ProjectFields:
    """What a manager types for a project (already parsed at the edge; checked here)."""

    name: str
    key: str
    description: str = ""
    client_description: str = ""
    start_date: date | None = None
    due_date: date | None = None


@dataclass(frozen=True)
class ProjectSummary:
    id: uuid.UUID
    name: str
    status: ProjectStatus
    task_counts: dict[str, int] = field(default_factory=dict)  # every TaskStatus value -> count
    key: str = ""
    due_date: date | None = None

    @property
    def total_tasks(self) -> int:
        return sum(self.task_counts.values())

    @property
    def done_tasks(self) -> int:
        return sum(self.task_counts.get(s.value, 0) for s in DONE_STATUSES)

    @property
    def progress_percent(self) -> int:
        """Done (and approved) tasks of all, rounded down; 0 for a project without tasks."""
        return self.done_tasks * 100 // self.total_tasks if self.total_tasks else 0


@dataclass(frozen=True)
class ProjectMemberInfo:
    user_id: uuid.UUID
    full_name: str
    email: str  # "" unless the viewer may manage members
    role: Role
    is_active: bool


@dataclass(frozen=True)
class ProjectDetail:
    summary: ProjectSummary
    description: str  # "" for clients: they see only the client-facing text
    client_description: str
    start_date: date | None
    due_date: date | None
    created_at: datetime
    members: tuple[ProjectMemberInfo, ...]
    # The company's workers and clients not on the project: only for who may edit members.
    candidates: tuple[ProjectMemberInfo, ...] = ()


@dataclass(frozen=True)
class DeletedProject:
    id: uuid.UUID
    name: str
    storage_keys: tuple[str, ...]  # S3 objects of its files and attachments, removed once the deletion commits


# ---- reading ------------------------------------------------------------------------------------


def visible_projects_query(actor: Actor) -> SelectOfScalar[Project]:
    """The projects the actor may list (the policy's scope for PROJECT_LIST: a manager's whole
    company, a worker's or client's own projects); every project read goes through it."""
    return select(Project).where(in_scope(actor, Action.PROJECT_LIST, Project))


def project_for_work(
    session: Session, actor: Actor, action: Action, project_id: uuid.UUID, *, for_update: bool = False
) -> Project:
    """The project `project_id` for a write on its work (tasks, labels, comments, files, members):
    NotFound unless the actor may do `action` on it, ProjectArchived when it is archived. Every such
    write goes through here, so "an archived project is read-only" holds in one place."""
    project = access_by_id(session, actor, action, Project, project_id, for_update=for_update)
    if project.status is ProjectStatus.ARCHIVED:
        raise ProjectArchived()
    return project


def count_projects(session: Session, actor: Actor) -> int:
    """How many projects the actor may see (the home page's number), without loading them."""
    authorize(actor, Action.PROJECT_LIST)
    return session.exec(
        select(sa.func.count()).select_from(Project).where(in_scope(actor, Action.PROJECT_LIST, Project))
    ).one()


def list_projects(
    session: Session, actor: Actor, *, search: str = "", status: ProjectStatus | None = None
) -> list[ProjectSummary]:
    """The visible projects by name, with task counts per status (two queries whatever their number).
    `search` matches the name or the key (case-insensitive); `status` keeps active or archived ones."""
    authorize(actor, Action.PROJECT_LIST)
    query = visible_projects_query(actor)
    search = search.strip()[:MAX_SEARCH_LENGTH]
    if search:
        pattern = like_pattern(search)
        query = query.where(
            sa.or_(
                col(Project.name).ilike(pattern, escape=LIKE_ESCAPE),
                col(Project.key).ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    if status is not None:
        query = query.where(Project.status == status)
    projects = session.exec(query.order_by(sa.func.lower(Project.name), col(Project.key))).all()
    counts = _task_counts(session, [p.id for p in projects])
    return [_summary(p, counts[p.id]) for p in projects]


def project_detail(session: Session, actor: Actor, project_id: uuid.UUID) -> ProjectDetail:
    """One visible project with its counts and members (and, for a manager, who could be added)."""
    project = access_by_id(session, actor, Action.PROJECT_LIST, Project, project_id)
    manages = scope_for(actor, Action.PROJECT_MEMBERS_EDIT) is not None
    members = session.exec(
        select(User)
        .join(
            ProjectMember,
            sa.and_(col(ProjectMember.user_id) == col(User.id), col(ProjectMember.company_id) == col(User.company_id)),
        )
        .where(ProjectMember.company_id == project.company_id, ProjectMember.project_id == project.id)
        .order_by(sa.func.lower(User.full_name), col(User.id))
    ).all()
    candidates: list[User] = []
    if manages:
        on_project = [m.id for m in members]
        candidates = list(
            session.exec(
                select(User)
                .where(
                    User.company_id == project.company_id,
                    col(User.role).in_(MEMBER_ROLES),
                    col(User.is_active).is_(True),
                    col(User.id).not_in(on_project),
                )
                .order_by(sa.func.lower(User.full_name), col(User.id))
            ).all()
        )
    client = actor.role is Role.CLIENT
    if client:  # a client never sees the project's other clients
        members = [u for u in members if u.role is not Role.CLIENT or u.id == actor.user_id]
    return ProjectDetail(
        summary=_summary(project, _task_counts(session, [project.id])[project.id]),
        description="" if client else project.description,
        client_description=project.client_description,
        start_date=project.start_date,
        due_date=project.due_date,
        created_at=project.created_at,
        members=tuple(_member_info(u, manages) for u in members),
        candidates=tuple(_member_info(u, manages) for u in candidates),
    )


def operator_company_projects(session: Session, actor: Actor, company_id: uuid.UUID) -> list[ProjectSummary]:
    """A company's projects for the operator's read-only support view; every look is audited."""
    action = Action.COMPANY_PROJECTS_VIEW
    company = access_by_id(session, actor, action, Company, company_id)
    projects = session.exec(
        select(Project)
        .where(in_scope(actor, action, Project), Project.company_id == company.id)
        .order_by(sa.func.lower(Project.name), col(Project.key))
    ).all()
    counts = _task_counts(session, [p.id for p in projects])
    audit.record(
        session,
        actor=actor,
        action=AuditAction.COMPANY_PROJECTS_VIEWED,
        company_id=company.id,
        target_type=AuditTarget.COMPANY,
        target_id=company.id,
        changes={"projects": len(projects)},
    )
    return [_summary(p, counts[p.id]) for p in projects]


def suggest_key(session: Session, actor: Actor, name: str) -> str:
    """A free key for a project called `name`: initials of its words (or its first letters),
    transliterated to ASCII, with a number appended when the company already uses it."""
    authorize(actor, Action.PROJECT_CREATE)
    base = key_from_name(name)
    taken = set(
        session.exec(
            select(Project.key).where(
                in_scope(actor, Action.PROJECT_CREATE, Project), col(Project.key).startswith(base)
            )
        ).all()
    )
    if base not in taken:
        return base
    for n in range(2, 1000):
        candidate = f"{base[: 10 - len(str(n))]}{n}"
        if candidate not in taken:
            return candidate
    return base


def key_from_name(name: str) -> str:
    """The key a name suggests, ignoring what exists: "Web Shop" -> "WS", "Website" -> "WEB",
    "Сайт клиента" -> "SK"; "PRJ" when the name has no usable letter."""
    latin = unicodedata.normalize("NFKD", name.upper().translate(_TRANSLIT))
    words = ["".join(ch for ch in word if ch.isascii() and ch.isalnum()) for word in latin.split()]
    words = [w for w in words if w]
    while words and words[0][0].isdigit():  # a key starts with a letter
        words[0] = words[0].lstrip("0123456789")
        if not words[0]:
            words.pop(0)
    if not words:
        return "PRJ"
    key = "".join(w[0] for w in words)[:10] if len(words) > 1 else words[0][:3]
    return key if len(key) >= 2 else (words[0][:3] if len(words[0]) >= 2 else "PRJ")


# ---- changing -----------------------------------------------------------------------------------


def create_project(session: Session, actor: Actor, fields: ProjectFields) -> ProjectDetail:
    """A new active project of the actor's company (no members yet: a manager sees it anyway).
    An empty key takes the suggestion for the name (`suggest_key`)."""
    authorize(actor, Action.PROJECT_CREATE)
    if not fields.key.strip():
        fields = dataclasses.replace(fields, key=suggest_key(session, actor, fields.name))
    clean = _checked(fields)
    billing.check_project_limit(session, company_id_of(actor))  # the plan's projects (LimitReached)
    project = Project(
        company_id=company_id_of(actor),
        name=clean.name,
        key=clean.key,
        description=clean.description,
        client_description=clean.client_description,
        start_date=clean.start_date,
        due_date=clean.due_date,
        created_by_id=actor.user_id,
    )
    _ensure_key_free(session, actor, Action.PROJECT_CREATE, clean.key, None)
    _flush_keyed(session, project)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.PROJECT_CREATED,
        company_id=project.company_id,
        target_type=AuditTarget.PROJECT,
        target_id=project.id,
        changes=audit.snapshot(project, _EDITABLE),
    )
    return project_detail(session, actor, project.id)


def update_project(session: Session, actor: Actor, project_id: uuid.UUID, fields: ProjectFields) -> ProjectDetail:
    """Change a project's name, key, descriptions and dates (not while it is archived)."""
    action = Action.PROJECT_EDIT
    project = project_for_work(session, actor, action, project_id, for_update=True)
    clean = _checked(fields)
    before = audit.snapshot(project, _EDITABLE)
    if clean.key != project.key:
        _ensure_key_free(session, actor, action, clean.key, project.id)
    project.name, project.key = clean.name, clean.key
    project.description, project.client_description = clean.description, clean.client_description
    project.start_date, project.due_date = clean.start_date, clean.due_date
    _flush_keyed(session, project)
    changes = audit.diff(before, audit.snapshot(project, _EDITABLE))
    if changes:
        audit.record(
            session,
            actor=actor,
            action=AuditAction.PROJECT_UPDATED,
            company_id=project.company_id,
            target_type=AuditTarget.PROJECT,
            target_id=project.id,
            changes={"project": project.name, **changes},
        )
    return project_detail(session, actor, project.id)


def set_archived(session: Session, actor: Actor, project_id: uuid.UUID, archived: bool) -> ProjectDetail:
    """Archive (read-only from now on) or restore a project; doing what is already so changes nothing."""
    project = access_by_id(session, actor, Action.PROJECT_ARCHIVE, Project, project_id, for_update=True)
    wanted = ProjectStatus.ARCHIVED if archived else ProjectStatus.ACTIVE
    if project.status is not wanted:
        if not archived:  # a restored project counts against the plan's projects again
            billing.check_project_limit(session, project.company_id)
        project.status = wanted
        session.add(project)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action=AuditAction.PROJECT_ARCHIVED if archived else AuditAction.PROJECT_RESTORED,
            company_id=project.company_id,
            target_type=AuditTarget.PROJECT,
            target_id=project.id,
            changes={"project": project.name},
        )
    return project_detail(session, actor, project.id)


def delete_project(session: Session, actor: Actor, project_id: uuid.UUID, confirm_name: str) -> DeletedProject:
    """Delete a project and everything on it; `confirm_name` must repeat its name exactly (surrounding
    spaces aside), or nothing happens."""
    project = access_by_id(session, actor, Action.PROJECT_DELETE, Project, project_id, for_update=True)
    if confirm_name.strip() != project.name.strip():
        raise ValidationFailed("error.project_confirm_name")
    keys = session.exec(
        select(StoredFile.storage_key).where(
            StoredFile.company_id == project.company_id,
            sa.or_(
                col(StoredFile.project_id) == project.id,
                col(StoredFile.task_id).in_(
                    select(Task.id).where(Task.company_id == project.company_id, Task.project_id == project.id)
                ),
            ),
        )
    ).all()
    tasks = session.exec(
        select(sa.func.count())
        .select_from(Task)
        .where(Task.company_id == project.company_id, Task.project_id == project.id)
    ).one()
    deleted = DeletedProject(id=project.id, name=project.name, storage_keys=tuple(keys))
    # The S3 objects of the project's files and attachments go once the deletion commits (kept if it
    # rolls back). Imported here: the files module builds on this one (project_for_work).
    from services.work.files import remove_objects_after_commit

    remove_objects_after_commit(session, list(keys))
    audit.record(
        session,
        actor=actor,
        action=AuditAction.PROJECT_DELETED,
        company_id=project.company_id,
        target_type=AuditTarget.PROJECT,
        target_id=project.id,
        changes={"project": project.name, "key": project.key, "tasks": tasks, "files": len(keys)},
    )
    session.delete(project)
    session.flush()
    return deleted


# ---- internals ----------------------------------------------------------------------------------

_EDITABLE = ("name", "key", "description", "client_description", "start_date", "due_date")


def _checked(fields: ProjectFields) -> ProjectFields:
    name = fields.name.strip()
    key = fields.key.strip().upper()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed("error.project_name")
    if not KEY_PATTERN.match(key):
        raise ValidationFailed("error.project_key_format")
    if len(fields.description) > MAX_DESCRIPTION_LENGTH or len(fields.client_description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed("error.text_too_long")
    if fields.start_date and fields.due_date and fields.due_date < fields.start_date:
        raise ValidationFailed("error.project_dates")
    return ProjectFields(
        name=name,
        key=key,
        description=fields.description.strip(),
        client_description=fields.client_description.strip(),
        start_date=fields.start_date,
        due_date=fields.due_date,
    )


def _ensure_key_free(session: Session, actor: Actor, action: Action, key: str, own: uuid.UUID | None) -> None:
    clash = session.exec(
        select(Project.id).where(in_scope(actor, action, Project), Project.key == key, col(Project.id) != own)
    ).first()
    if clash is not None:
        raise Conflict("error.project_key_taken")


def _flush_keyed(session: Session, project: Project) -> None:
    """Write `project` in a savepoint: a key taken meanwhile by another transaction is a Conflict, and
    the caller's transaction stays usable (the savepoint's rollback drops the new row, or reloads the
    edited one)."""
    try:
        with session.begin_nested():
            session.add(project)
            session.flush()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) == KEY_CONSTRAINT:
            raise Conflict("error.project_key_taken") from exc
        raise


def _task_counts(session: Session, project_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Tasks per status of each project (every status present, 0 when none): one grouped query."""
    counts: dict[uuid.UUID, dict[str, int]] = {pid: {s.value: 0 for s in TaskStatus} for pid in project_ids}
    if project_ids:
        rows = session.exec(
            select(Task.project_id, Task.status, sa.func.count())
            .where(col(Task.project_id).in_(project_ids))
            .group_by(col(Task.project_id), col(Task.status))
        ).all()
        for project_id, status, count in rows:
            counts[project_id][TaskStatus(status).value] = count
    return counts


def _summary(project: Project, counts: dict[str, int]) -> ProjectSummary:
    return ProjectSummary(
        id=project.id,
        name=project.name,
        status=project.status,
        task_counts=counts,
        key=project.key,
        due_date=project.due_date,
    )


def _member_info(user: User, with_email: bool) -> ProjectMemberInfo:
    return ProjectMemberInfo(
        user_id=user.id,
        full_name=user.full_name,
        email=user.email if with_email else "",
        role=user.role,
        is_active=user.is_active,
    )
