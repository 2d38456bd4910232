"""People: the company's members (team), invitations, and single sign-on through the company's provider.

This module is the domain's public surface: other domains and the UI import only these names.
"""

from services.people.invitations import (
    INVITABLE_ROLES,
    MAX_TOKEN_LENGTH,
    InvitationInfo,
    InvitePreview,
    accept,
    describe,
    invite,
    resend,
    revoke,
)
from services.people.jobs import INVITATION_RETENTION, purge_invitations
from services.people.sso import (
    CALLBACK_PATH,
    FLOW_SECONDS,
    SsoEntry,
    SsoSettings,
    SsoStart,
    begin_sso,
    complete_sso,
    describe_sso,
    remove_sso,
    save_sso,
    sso_settings,
)
from services.people.team import (
    PROJECT_MEMBER_ROLES,
    MemberInfo,
    ProjectMembersChange,
    change_role,
    list_invitations,
    list_members,
    set_active,
    set_project_members,
)

__all__ = [
    "CALLBACK_PATH",
    "FLOW_SECONDS",
    "INVITABLE_ROLES",
    "INVITATION_RETENTION",
    "MAX_TOKEN_LENGTH",
    "PROJECT_MEMBER_ROLES",
    "InvitationInfo",
    "InvitePreview",
    "MemberInfo",
    "ProjectMembersChange",
    "SsoEntry",
    "SsoSettings",
    "SsoStart",
    "accept",
    "begin_sso",
    "change_role",
    "complete_sso",
    "describe",
    "describe_sso",
    "invite",
    "list_invitations",
    "list_members",
    "purge_invitations",
    "remove_sso",
    "resend",
    "revoke",
    "save_sso",
    "set_active",
    "set_project_members",
    "sso_settings",
]
