"""One table shape for every list: translated headers, a row per item, an "empty" line once loaded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import reflex as rx
from reflex.vars import ArrayVar, ObjectVar

from dashboard.i18n import t

ROW = TypeVar("ROW")


def data_table(
    name: str,
    header_keys: list[str],
    rows: ArrayVar[Sequence[ROW]],
    row: Callable[[ObjectVar[ROW]], rx.Component],
    *,
    loaded: rx.Var[bool] | bool = True,
    empty_key: str = "common.empty",
) -> rx.Component:
    """`#<name>-table` with the rows, or `#<name>-empty` when there are none."""
    return rx.cond(
        rows.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(key)) for key in header_keys])),
            rx.table.body(rx.foreach(rows, row)),
            id=f"{name}-table",
            width="100%",
            variant="surface",
        ),
        rx.cond(loaded, rx.text(t(empty_key), id=f"{name}-empty", color_scheme="gray")),
    )
