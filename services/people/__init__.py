"""People: the company's members (team) and invitations.

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
    "INVITABLE_ROLES",
    "MAX_TOKEN_LENGTH",
    "PROJECT_MEMBER_ROLES",
    "InvitationInfo",
    "InvitePreview",
    "MemberInfo",
    "ProjectMembersChange",
    "accept",
    "change_role",
    "describe",
    "invite",
    "list_invitations",
    "list_members",
    "resend",
    "revoke",
    "set_active",
    "set_project_members",
]
