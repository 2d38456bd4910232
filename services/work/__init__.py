"""Work: projects (and, as they land, tasks, comments and files).

This module is the domain's public surface: other domains and the UI import only these names.
"""

from services.work.project_count import visible_project_count
from services.work.projects import (
    ProjectArchived,
    ProjectSummary,
    count_projects,
    list_projects,
    project_for_work,
    visible_projects_query,
)

__all__ = [
    "ProjectArchived",
    "ProjectSummary",
    "count_projects",
    "list_projects",
    "project_for_work",
    "visible_project_count",
    "visible_projects_query",
]
