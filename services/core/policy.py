"""Who may do what: one role x action table, the single source for every check and for docs/roles.md.

A rule gives the scope an allowed role acts in:
- ALL: any company (the operator; every such action is audited),
- COMPANY: only the actor's own company,
- PROJECTS: only projects of the actor's company that the actor is a member of,
- SELF: only the actor's own account.
Services ask `authorize(actor, action)` and then filter by the returned scope; each page of the UI
names the action it needs (dashboard/registry.py), so navigation and access can never disagree.

Every action also has an Effect. A WRITE changes the company's data and is refused, here and in the
handler guard (both call `refuse_if_read_only`), once the company is read-only (`Actor.read_only_at`
has passed: its trial ended without a subscription, or its subscription ended or went unpaid). READ
actions (viewing, exporting) and ACCOUNT actions (own sessions and password, subscribing and paying:
the way out of read-only) always pass. A new action without an Effect fails tests/unit/test_policy.py.
"""

from __future__ import annotations

from enum import StrEnum

from models import Role
from services.core import clock
from services.core.actor import Actor
from services.core.errors import CompanyReadOnly, PermissionDenied


class Scope(StrEnum):
    ALL = "all companies"
    COMPANY = "own company"
    PROJECTS = "own projects"
    SELF = "own account"


class Action(StrEnum):
    HOME_VIEW = "home.view"
    # own account
    SESSION_LIST = "session.list"  # see own sessions
    SESSION_REVOKE = "session.revoke"  # revoke one own session, or all ("log out everywhere")
    PASSWORD_CHANGE = "password.change"  # noqa: S105 - an action name, not a password
    TWO_FACTOR_MANAGE = "two_factor.manage"  # own second factor: set up, recovery codes, turn off, trusted browsers
    # projects
    PROJECT_LIST = "project.list"  # the list and a project's detail page
    PROJECT_CREATE = "project.create"
    PROJECT_EDIT = "project.edit"  # name, key, descriptions, dates
    PROJECT_ARCHIVE = "project.archive"  # archive (read-only) and restore
    PROJECT_DELETE = "project.delete"  # with everything on it (docs/db_cascades.md)
    PROJECT_MEMBERS_EDIT = "project.members_edit"  # who (workers, clients) is on which project
    # the task board (clients never see it: their view is the portal)
    BOARD_VIEW = "board.view"  # a project's board, its tasks and a task's detail (the operator's view is audited)
    TASK_CREATE = "task.create"
    TASK_EDIT = "task.edit"  # every field, and moves between columns up to "done"
    TASK_DELETE = "task.delete"
    LABEL_EDIT = "label.edit"  # a project's labels and their colours
    TASK_EXPORT = "task.export"  # CSV of the filtered board
    MY_TASKS = "task.mine"  # tasks assigned to oneself, across projects
    # files on S3 (task attachments, project files)
    FILE_VIEW = "file.view"  # list, preview, download
    FILE_UPLOAD = "file.upload"
    FILE_EDIT = "file.edit"  # rename, visible to client, delete: the uploader or a manager
    STORAGE_VIEW = "storage.view"  # the company's storage use against its limit
    # a task's discussion
    COMMENT_LIST = "comment.list"  # comments and history of a task (clients: shared tasks, never internal)
    COMMENT_ADD = "comment.add"
    COMMENT_EDIT = "comment.edit"  # own comments only
    COMMENT_DELETE = "comment.delete"  # own comments; a manager any
    # notifications (the bell)
    NOTIFICATION_LIST = "notification.list"
    NOTIFICATION_READ = "notification.read"  # mark one or all read
    NOTIFICATION_EMAIL_SET = "notification.email_set"  # the per-user e-mail switch
    # the company's people
    TEAM_VIEW = "team.view"  # members with role and status, pending invitations
    MEMBER_INVITE = "member.invite"
    MEMBER_CHANGE_ROLE = "member.change_role"
    MEMBER_SET_ACTIVE = "member.set_active"  # deactivate / reactivate
    INVITE_RESEND = "invite.resend"
    INVITE_REVOKE = "invite.revoke"
    COMPANY_SECURITY_EDIT = "company.security_edit"  # sign-in rules of the company (two-factor required, SSO)
    # audit log
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    # the operator's console
    COMPANY_LIST = "company.list"
    COMPANY_VIEW = "company.view"
    COMPANY_SET_ACTIVE = "company.set_active"  # deactivate / reactivate a company
    COMPANY_PROJECTS_VIEW = "company.projects_view"  # a company's projects, read-only (support; audited)
    OUTBOX_VIEW = "outbox.view"  # dev mail outbox (local only)
    # billing: the company's side
    BILLING_VIEW = "billing.view"  # plan, state, usage, invoices, payments; the plan catalogue to choose from
    BILLING_MANAGE = "billing.manage"  # subscribe, change plan, cancel at period end, resume
    INVOICE_DOWNLOAD = "invoice.download"  # an invoice's PDF
    # billing: the operator's console
    PLAN_MANAGE = "plan.manage"  # create, edit, retire and restore plans
    BILLING_ADMIN = "billing.admin"  # subscriptions, invoices and revenue across companies
    PAYMENT_RECORD = "payment.record"  # record a payment or a refund against an invoice
    INVOICE_VOID = "invoice.void"  # void an open invoice (and reissue it)


class Effect(StrEnum):
    READ = "read"  # looks, exports: allowed in a read-only company
    WRITE = "write"  # changes the company's data: refused in a read-only company
    ACCOUNT = "account"  # own account, billing, the operator's console: always allowed


A, M, W, C = Role.ADMIN, Role.MANAGER, Role.WORKER, Role.CLIENT

EVERYONE_SELF = {A: Scope.SELF, M: Scope.SELF, W: Scope.SELF, C: Scope.SELF}
MANAGER_COMPANY = {M: Scope.COMPANY}
OPERATOR = {A: Scope.ALL}
TEAM_PROJECTS = {M: Scope.COMPANY, W: Scope.PROJECTS}  # the board's people: a manager's company, a worker's projects
TENANT_SELF = {M: Scope.SELF, W: Scope.SELF, C: Scope.SELF}  # own rows inside a company (no operator)

RULES: dict[Action, dict[Role, Scope]] = {
    Action.HOME_VIEW: EVERYONE_SELF,
    Action.SESSION_LIST: EVERYONE_SELF,
    Action.SESSION_REVOKE: EVERYONE_SELF,
    Action.PASSWORD_CHANGE: EVERYONE_SELF,
    Action.TWO_FACTOR_MANAGE: EVERYONE_SELF,
    Action.PROJECT_LIST: {M: Scope.COMPANY, W: Scope.PROJECTS, C: Scope.PROJECTS},
    Action.PROJECT_CREATE: MANAGER_COMPANY,
    Action.PROJECT_EDIT: MANAGER_COMPANY,
    Action.PROJECT_ARCHIVE: MANAGER_COMPANY,
    Action.PROJECT_DELETE: MANAGER_COMPANY,
    Action.PROJECT_MEMBERS_EDIT: MANAGER_COMPANY,
    Action.BOARD_VIEW: {A: Scope.ALL, M: Scope.COMPANY, W: Scope.PROJECTS},
    Action.TASK_CREATE: TEAM_PROJECTS,
    Action.TASK_EDIT: TEAM_PROJECTS,
    Action.TASK_DELETE: MANAGER_COMPANY,
    Action.LABEL_EDIT: TEAM_PROJECTS,
    Action.TASK_EXPORT: TEAM_PROJECTS,
    Action.MY_TASKS: TEAM_PROJECTS,
    Action.FILE_VIEW: {M: Scope.COMPANY, W: Scope.PROJECTS},
    Action.FILE_UPLOAD: {M: Scope.COMPANY, W: Scope.PROJECTS},
    Action.FILE_EDIT: {M: Scope.COMPANY, W: Scope.PROJECTS},
    Action.STORAGE_VIEW: MANAGER_COMPANY,
    Action.COMMENT_LIST: {M: Scope.COMPANY, W: Scope.PROJECTS, C: Scope.PROJECTS},
    Action.COMMENT_ADD: TEAM_PROJECTS,
    Action.COMMENT_EDIT: TEAM_PROJECTS,
    Action.COMMENT_DELETE: TEAM_PROJECTS,
    Action.NOTIFICATION_LIST: TENANT_SELF,
    Action.NOTIFICATION_READ: TENANT_SELF,
    Action.NOTIFICATION_EMAIL_SET: TENANT_SELF,
    Action.TEAM_VIEW: MANAGER_COMPANY,
    Action.MEMBER_INVITE: MANAGER_COMPANY,
    Action.MEMBER_CHANGE_ROLE: MANAGER_COMPANY,
    Action.MEMBER_SET_ACTIVE: MANAGER_COMPANY,
    Action.INVITE_RESEND: MANAGER_COMPANY,
    Action.INVITE_REVOKE: MANAGER_COMPANY,
    Action.COMPANY_SECURITY_EDIT: MANAGER_COMPANY,
    Action.AUDIT_VIEW: {A: Scope.ALL, M: Scope.COMPANY},
    Action.AUDIT_EXPORT: {A: Scope.ALL, M: Scope.COMPANY},
    Action.COMPANY_LIST: OPERATOR,
    Action.COMPANY_VIEW: OPERATOR,
    Action.COMPANY_SET_ACTIVE: OPERATOR,
    Action.COMPANY_PROJECTS_VIEW: OPERATOR,
    Action.OUTBOX_VIEW: OPERATOR,
    Action.BILLING_VIEW: MANAGER_COMPANY,
    Action.BILLING_MANAGE: MANAGER_COMPANY,
    Action.INVOICE_DOWNLOAD: {A: Scope.ALL, M: Scope.COMPANY},
    Action.PLAN_MANAGE: OPERATOR,
    Action.BILLING_ADMIN: OPERATOR,
    Action.PAYMENT_RECORD: OPERATOR,
    Action.INVOICE_VOID: OPERATOR,
}

R, W_, ACC = Effect.READ, Effect.WRITE, Effect.ACCOUNT

EFFECTS: dict[Action, Effect] = {
    Action.HOME_VIEW: R,
    Action.SESSION_LIST: R,
    Action.SESSION_REVOKE: ACC,
    Action.PASSWORD_CHANGE: ACC,
    Action.TWO_FACTOR_MANAGE: ACC,  # own sign-in security: never blocked by a read-only company
    Action.PROJECT_LIST: R,
    Action.PROJECT_CREATE: W_,
    Action.PROJECT_EDIT: W_,
    Action.PROJECT_ARCHIVE: W_,
    Action.PROJECT_DELETE: W_,
    Action.PROJECT_MEMBERS_EDIT: W_,
    Action.BOARD_VIEW: R,
    Action.TASK_CREATE: W_,
    Action.TASK_EDIT: W_,
    Action.TASK_DELETE: W_,
    Action.LABEL_EDIT: W_,
    Action.TASK_EXPORT: R,
    Action.MY_TASKS: R,
    Action.FILE_VIEW: R,
    Action.FILE_UPLOAD: W_,
    Action.FILE_EDIT: W_,
    Action.STORAGE_VIEW: R,
    Action.COMMENT_LIST: R,
    Action.COMMENT_ADD: W_,
    Action.COMMENT_EDIT: W_,
    Action.COMMENT_DELETE: W_,
    Action.NOTIFICATION_LIST: R,
    Action.NOTIFICATION_READ: ACC,  # one's own bell, like one's sessions
    Action.NOTIFICATION_EMAIL_SET: ACC,
    Action.TEAM_VIEW: R,
    Action.MEMBER_INVITE: W_,
    Action.MEMBER_CHANGE_ROLE: W_,
    Action.MEMBER_SET_ACTIVE: W_,
    Action.INVITE_RESEND: W_,
    Action.INVITE_REVOKE: W_,
    Action.COMPANY_SECURITY_EDIT: ACC,  # the company's sign-in rules: like the own account's
    Action.AUDIT_VIEW: R,
    Action.AUDIT_EXPORT: R,
    Action.COMPANY_LIST: R,
    Action.COMPANY_VIEW: R,
    Action.COMPANY_SET_ACTIVE: ACC,
    Action.COMPANY_PROJECTS_VIEW: R,
    Action.OUTBOX_VIEW: R,
    Action.BILLING_VIEW: R,
    Action.BILLING_MANAGE: ACC,
    Action.INVOICE_DOWNLOAD: R,
    Action.PLAN_MANAGE: ACC,
    Action.BILLING_ADMIN: R,
    Action.PAYMENT_RECORD: ACC,
    Action.INVOICE_VOID: ACC,
}

DESCRIPTIONS: dict[Action, str] = {
    Action.HOME_VIEW: "Open the home page (own name, role and company)",
    Action.SESSION_LIST: "See own sessions (device, IP, last seen)",
    Action.SESSION_REVOKE: "Revoke one of own sessions, or log out of all sessions",
    Action.PASSWORD_CHANGE: "Change own password (ends every other session)",
    Action.TWO_FACTOR_MANAGE: "Set up own two-factor sign-in; regenerate its recovery codes or turn it off (password "
    "and a current code, ends every other session); see and revoke own trusted browsers",
    Action.PROJECT_LIST: "List projects (search, status, progress, counts per status) and open one",
    Action.PROJECT_CREATE: "Create a project (name, key, descriptions, dates)",
    Action.PROJECT_EDIT: "Edit a project's name, key, descriptions and dates",
    Action.PROJECT_ARCHIVE: "Archive a project (read-only) or restore it",
    Action.PROJECT_DELETE: "Delete a project with its tasks, comments and files (typing its name)",
    Action.PROJECT_MEMBERS_EDIT: "Choose which workers and clients are on a project",
    Action.BOARD_VIEW: "Open a project's task board and a task's detail (the operator: read-only, audited)",
    Action.TASK_CREATE: "Create a task on a project's board",
    Action.TASK_EDIT: "Edit a task and move it between columns up to done (approval is the client's)",
    Action.TASK_DELETE: "Delete a task (its number is never reused)",
    Action.LABEL_EDIT: "Create and delete a project's labels",
    Action.TASK_EXPORT: "Export the filtered board as CSV",
    Action.MY_TASKS: "List the tasks assigned to oneself across projects",
    Action.FILE_VIEW: "List a project's files and task attachments, preview and download them",
    Action.FILE_UPLOAD: "Upload files to a project or a task (size, type and storage limits apply)",
    Action.FILE_EDIT: "Rename, delete or show to clients a file (workers: only files they uploaded)",
    Action.STORAGE_VIEW: "See the company's storage use against its limit",
    Action.COMMENT_LIST: "Read a task's comments and history (clients: shared tasks, never internal comments)",
    Action.COMMENT_ADD: "Comment on a task (markdown, @mentions of project members, internal flag)",
    Action.COMMENT_EDIT: "Edit own comments",
    Action.COMMENT_DELETE: "Delete own comments (a manager: any comment)",
    Action.NOTIFICATION_LIST: "See own notifications and the unread count",
    Action.NOTIFICATION_READ: "Mark own notifications read",
    Action.NOTIFICATION_EMAIL_SET: "Turn notification e-mails on or off for oneself",
    Action.TEAM_VIEW: "See members (role, status) and pending invitations",
    Action.MEMBER_INVITE: "Invite someone by email as manager, worker or client",
    Action.MEMBER_CHANGE_ROLE: "Change a member's role between manager, worker and client",
    Action.MEMBER_SET_ACTIVE: "Deactivate or reactivate a member (ends their sessions)",
    Action.INVITE_RESEND: "Resend a pending invitation (new link, new expiry)",
    Action.INVITE_REVOKE: "Revoke a pending invitation",
    Action.COMPANY_SECURITY_EDIT: "See and change the company's sign-in rules: require two-factor for every member; "
    "configure its OpenID Connect single sign-on",
    Action.AUDIT_VIEW: "Read the audit log, filtered by user, action and date",
    Action.AUDIT_EXPORT: "Export the audit log as CSV",
    Action.COMPANY_LIST: "List companies with members, plan and status",
    Action.COMPANY_VIEW: "Open a company's detail page",
    Action.COMPANY_SET_ACTIVE: "Deactivate or reactivate a company (ends its users' sessions)",
    Action.COMPANY_PROJECTS_VIEW: "See a company's projects read-only (support; every view is audited)",
    Action.OUTBOX_VIEW: "Read the development mail outbox (local environment only)",
    Action.BILLING_VIEW: "See own company's plan, subscription state, trial days left, usage, invoices and payments",
    Action.BILLING_MANAGE: "Subscribe, upgrade (prorated) or downgrade (at period end), cancel at period end, resume",
    Action.INVOICE_DOWNLOAD: "Download an invoice as PDF",
    Action.PLAN_MANAGE: "Create, edit, retire and restore plans of the catalogue",
    Action.BILLING_ADMIN: "See subscriptions, invoices, revenue and MRR across companies",
    Action.PAYMENT_RECORD: "Record a payment (bank transfer) or a refund against an invoice",
    Action.INVOICE_VOID: "Void an open invoice (and issue a corrected one)",
}


def scope_for(actor: Actor | None, action: Action) -> Scope | None:
    if actor is None:
        return None
    return RULES[action].get(actor.role)


def authorize(actor: Actor | None, action: Action) -> Scope:
    """The scope the actor may act in, or PermissionDenied (CompanyReadOnly for a write in a
    read-only company)."""
    scope = scope_for(actor, action)
    if scope is None:
        raise PermissionDenied()
    refuse_if_read_only(actor, action)
    return scope


def is_read_only(actor: Actor | None) -> bool:
    """Whether the actor's company is read-only now (see the module docstring)."""
    return actor is not None and actor.read_only_at is not None and clock.now() >= actor.read_only_at


def refuse_if_read_only(actor: Actor | None, action: Action) -> None:
    """The one check that keeps a read-only company read-only: CompanyReadOnly for a WRITE action."""
    if EFFECTS[action] is Effect.WRITE and is_read_only(actor):
        raise CompanyReadOnly()


ROLE_SUMMARIES: dict[Role, str] = {
    Role.ADMIN: "The SaaS operator. Sees and manages every company, the plan catalogue, subscriptions, "
    "invoices and payments. Every cross-company action is audited.",
    Role.MANAGER: "Runs one company: its projects, its members and their project membership, its billing page.",
    Role.WORKER: "Works inside the projects they are a member of: tasks, comments, file uploads.",
    Role.CLIENT: "The company's customer: a read-only portal over the projects they are a member of, plus "
    "approving or rejecting work. Never sees internal comments, other clients, members' emails, billing, "
    "or projects they are not on.",
}


def render_roles_markdown() -> str:
    """The actions part of docs/roles.md, generated from RULES (`make docs`)."""
    roles = list(Role)
    lines = [
        "# Roles and access",
        "",
        "<!-- Generated by `make docs` (scripts/docs.py) from services/core/policy.py and dashboard/registry.py. Do not edit. -->",
        "",
    ]
    lines += [f"- **{role.value.title()}**: {ROLE_SUMMARIES[role]}" for role in roles]
    lines += [
        "",
        "Scopes: **all companies** (operator), **own company**, **own projects** (projects of the own company "
        "the user is a member of), **own account**. A dash means the action is refused. Another company's row "
        "is answered exactly like a missing one.",
        "",
        "A company whose trial ended without a subscription, or whose subscription ended or went unpaid, is "
        "read-only: the actions marked **write** are refused with a message saying why and how to subscribe.",
        "",
        "| Action | What it allows | Effect | " + " | ".join(role.value.title() for role in roles) + " |",
        "|---|---|---|" + "---|" * len(roles),
    ]
    for action in Action:
        cells = [RULES[action].get(role) for role in roles]
        lines.append(
            f"| `{action.value}` | {DESCRIPTIONS[action]} | {EFFECTS[action].value} | "
            + " | ".join(scope.value if scope else "–" for scope in cells)
            + " |"
        )
    return "\n".join(lines) + "\n"
