"""The task discussion component (mounted by the task drawer) builds with known translation keys,
and its rows carry only plain values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from dashboard.components.task_discussion import task_discussion
from dashboard.state.discussion import comment_row, history_row
from services.audit import HistoryEntry
from services.work import CommentInfo


def test_the_component_builds() -> None:
    code = str(task_discussion())
    assert "translate(" in code and "comment-form" in code


def test_rows_are_plain_and_history_changes_are_cut() -> None:
    now = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    info = CommentInfo(
        id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        author_id=None,
        author_name="Greg",
        body="**hi**",
        html="<p><strong>hi</strong></p>\n",
        is_internal=True,
        created_at=now,
        edited=False,
        can_edit=False,
        can_delete=True,
    )
    row = comment_row(info)
    assert (row.id, row.author, row.internal, row.time) == (str(info.id), "Greg", True, "2026-12-02 09:30 UTC")
    entry = HistoryEntry(
        created_at=now, actor_name="", action="task_moved", changes={"x": "y" * 1000}, by_operator=True
    )
    history = history_row(entry)
    assert history.actor == "" and len(history.changes) == 300 and history.changes.endswith("…")
