"""Work: projects (and, as they land, tasks, comments and files).

This module is the domain's public surface: other domains and the UI import only these names.
"""

from services.work.projects import ProjectSummary, count_projects, list_projects, visible_projects_query

__all__ = ["ProjectSummary", "count_projects", "list_projects", "visible_projects_query"]
