"""Drag and drop for the board: a Reflex wrapper of @dnd-kit/core (npm), through our own small React
module board_dnd.jsx (copied into the build by rx.asset; Reflex installs @dnd-kit/core into .web and
records it in reflex.lock/). See board_dnd.jsx for what each piece does."""

from __future__ import annotations

import reflex as rx
from reflex.event import passthrough_event_spec

DND_KIT = "@dnd-kit/core@6.3.1"
_MODULE = "$/public" + rx.asset("board_dnd.jsx", shared=True)


class DndBoard(rx.Component):
    """The drag-and-drop context around the columns; `on_move(task_id, version, status, before_id)`."""

    library = _MODULE
    tag = "DndBoard"
    lib_dependencies: list[str] = [DND_KIT]

    on_move: rx.EventHandler[passthrough_event_spec(str, int, str, str)]  # type: ignore[type-arg,valid-type]


class DndColumn(rx.Component):
    """A column's drop zone (dropping there puts the card at the column's end)."""

    library = _MODULE
    tag = "DndColumn"

    status: rx.Var[str]


class DndCard(rx.Component):
    """A draggable card that is also a drop target; `on_arrow(key)` for the arrow keys when focused."""

    library = _MODULE
    tag = "DndCard"

    task_id: rx.Var[str]
    status: rx.Var[str]
    version: rx.Var[int]
    disabled: rx.Var[bool]

    on_arrow: rx.EventHandler[passthrough_event_spec(str)]  # type: ignore[type-arg,valid-type]


dnd_board = DndBoard.create
dnd_column = DndColumn.create
dnd_card = DndCard.create
