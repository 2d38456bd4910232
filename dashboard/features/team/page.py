"""/team (managers): members, pending invitations, the invite form and project membership."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.forms import confirm_button, labelled, native_select, option, text_field
from dashboard.components.layout import page_frame
from dashboard.components.table import data_table
from dashboard.features.team.state import (
    MEMBER_BOX,
    PROJECT_BOX,
    ROLE_CHOICES,
    InvitationRow,
    MemberRow,
    ProjectOption,
    TeamState,
)
from dashboard.i18n import t, t_var


def _role_options() -> list[rx.Component]:
    return [option(role, t(f"role.{role}")) for role in ROLE_CHOICES]


def _member_row(member: ObjectVar[MemberRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(member.name),
        rx.table.cell(member.email),
        rx.table.cell(
            native_select(
                "role",
                *_role_options(),
                select_id="role-" + member.id.to(str),
                value=member.role,
                on_change=lambda role: TeamState.change_role(member.id, role),
                aria_label=t("team.role"),
            )
        ),
        rx.table.cell(
            rx.cond(
                member.active,
                rx.badge(t("team.active"), color_scheme="green"),
                rx.badge(t("team.inactive"), color_scheme="gray"),
            )
        ),
        rx.table.cell(member.last_login),
        rx.table.cell(
            rx.foreach(member.project_ids, lambda pid: rx.badge(TeamState.project_names[pid], margin_right="0.25em"))
        ),
        rx.table.cell(
            rx.cond(
                member.active,
                confirm_button(
                    "team.deactivate",
                    "team.deactivate_question",
                    TeamState.set_active(member.id, False),
                    button_id="deactivate-" + member.id.to(str),
                ),
                rx.button(
                    t("team.reactivate"),
                    id="reactivate-" + member.id.to(str),
                    size="1",
                    variant="soft",
                    on_click=TeamState.set_active(member.id, True),
                ),
            )
        ),
        data_testid="member-row",
        data_email=member.email,
    )


def _invitation_row(invitation: ObjectVar[InvitationRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(invitation.email),
        rx.table.cell(t_var(invitation.role, "role.")),
        rx.table.cell(invitation.sent),
        rx.table.cell(
            invitation.expires,
            rx.cond(invitation.expired, rx.badge(t("team.expired"), color_scheme="orange", margin_left="0.5em")),
        ),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    t("team.resend"),
                    id="resend-" + invitation.id.to(str),
                    size="1",
                    variant="soft",
                    on_click=TeamState.resend_invitation(invitation.id),
                ),
                confirm_button(
                    "team.revoke",
                    "team.revoke_question",
                    TeamState.revoke_invitation(invitation.id),
                    button_id="revoke-" + invitation.id.to(str),
                ),
                spacing="2",
            )
        ),
        data_testid="invitation-row",
        data_email=invitation.email,
    )


def _checkbox(name: rx.Var[str] | str, label: rx.Var[str], *, checked: rx.Var[bool] | bool = False) -> rx.Component:
    """A native checkbox: one name per box, as the form data keeps one value per name."""
    return rx.el.label(
        rx.el.input(type="checkbox", name=name, default_checked=checked, margin_right="0.4em"),
        rx.text(label, size="2"),
        display="inline-flex",
        align_items="center",
        margin_right="1em",
    )


def _invite_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.hstack(
                text_field("team.email", "email", field_id="invite-email", type="email", required=True),
                labelled(
                    "team.role",
                    native_select("role", *_role_options(), select_id="invite-role", default_value="worker"),
                    "invite-role",
                    full_width=False,
                ),
                width="100%",
                align="end",
                spacing="3",
            ),
            rx.cond(
                TeamState.projects.length() > 0,
                rx.vstack(
                    rx.text(t("team.invite_projects"), size="2"),
                    rx.box(
                        rx.foreach(TeamState.projects, lambda p: _checkbox(PROJECT_BOX + p.id, p.name)),
                        id="invite-projects",
                    ),
                    spacing="1",
                ),
            ),
            rx.button(t("team.send_invite"), type="submit", id="invite-submit"),
            spacing="3",
            width="100%",
        ),
        on_submit=TeamState.invite,
        key=TeamState.invites_sent,  # a new, empty form after each invitation sent (kept after an error)
        id="invite-form",
        width="100%",
    )


def _project_members_form(project: ObjectVar[ProjectOption]) -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.text(project.name, weight="bold", min_width="10em"),
            rx.el.input(type="hidden", name="project_id", value=project.id),
            rx.box(
                rx.foreach(
                    TeamState.assignable_members,
                    lambda m: _checkbox(MEMBER_BOX + m.id, m.name, checked=m.project_ids.contains(project.id)),
                ),
                flex="1",
            ),
            rx.button(t("common.save"), type="submit", size="1", id="save-members-" + project.id.to(str)),
            align="center",
            width="100%",
            spacing="3",
        ),
        on_submit=TeamState.save_project_members,
        data_testid="project-members-form",
        width="100%",
    )


def team_page() -> rx.Component:
    return page_frame(
        rx.heading(t("team.members"), size="4"),
        data_table(
            "members",
            ["team.name", "team.email", "team.role", "team.status", "team.last_login", "team.projects", "team.actions"],
            TeamState.members,
            _member_row,
            loaded=TeamState.loaded,
        ),
        rx.heading(t("team.invite"), size="4"),
        rx.card(_invite_form(), width="100%"),
        rx.text(t("team.invite_hint"), size="1", color_scheme="gray"),
        rx.heading(t("team.pending"), size="4"),
        data_table(
            "invitations",
            ["team.email", "team.role", "team.sent", "team.expires", "team.actions"],
            TeamState.invitations,
            _invitation_row,
            loaded=TeamState.loaded,
            empty_key="team.no_invitations",
        ),
        rx.heading(t("team.project_membership"), size="4"),
        rx.text(t("team.project_membership_hint"), size="1", color_scheme="gray"),
        rx.cond(
            TeamState.projects.length() > 0,
            rx.vstack(rx.foreach(TeamState.projects, _project_members_form), width="100%", spacing="2"),
            rx.text(t("projects.empty"), color_scheme="gray"),
        ),
        title_key="team.title",
    )
