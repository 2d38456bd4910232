// Drag and drop for the task board, on @dnd-kit/core (npm). Three pieces:
// DndBoard (the context; calls onMove(taskId, version, status, beforeId) on a drop), DndColumn (a
// column's drop zone: the end of the column) and DndCard (a draggable card that is also a drop
// target: dropping on it puts the dragged card just above it). A card also answers the arrow keys
// (onArrow(key)) when it has focus: the keyboard alternative to dragging.
import React, { useCallback } from "react";
import {
  DndContext,
  PointerSensor,
  pointerWithin,
  rectIntersection,
  useDraggable,
  useDroppable,
  useSensor,
  useSensors,
} from "@dnd-kit/core";

const ARROWS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"];

// The drop target under the pointer, the closest card first (a column contains its cards).
function collisions(args) {
  const under = pointerWithin(args);
  const found = under.length ? under : rectIntersection(args);
  const cards = found.filter((c) => String(c.id).startsWith("drop-"));
  return cards.length ? cards : found;
}

export function DndBoard({ children, onMove, ...rest }) {
  // A press becomes a drag only after 6 px: clicks on the card's link and menu still work.
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 6 } }));
  const onDragEnd = useCallback(
    ({ active, over }) => {
      if (!over || !onMove) return;
      const card = active.data.current || {};
      const target = over.data.current || {};
      if (!target.status) return;
      const before = target.kind === "card" ? target.id : "";
      if (before === card.id) return;
      onMove(card.id, card.version, target.status, before);
    },
    [onMove]
  );
  return (
    <DndContext sensors={sensors} collisionDetection={collisions} onDragEnd={onDragEnd}>
      <div {...rest}>{children}</div>
    </DndContext>
  );
}

export function DndColumn({ children, status, style, ...rest }) {
  const { setNodeRef, isOver } = useDroppable({ id: "column-" + status, data: { kind: "column", status } });
  const outline = isOver ? "2px dashed var(--accent-8)" : undefined;
  return (
    <div ref={setNodeRef} data-over={isOver ? "true" : undefined} style={{ ...style, outline }} {...rest}>
      {children}
    </div>
  );
}

export function DndCard({ children, taskId, status, version, disabled, onArrow, style, ...rest }) {
  const drag = useDraggable({ id: taskId, data: { id: taskId, status, version }, disabled: !!disabled });
  const drop = useDroppable({ id: "drop-" + taskId, data: { kind: "card", id: taskId, status }, disabled: !!disabled });
  const setRef = useCallback(
    (node) => {
      drag.setNodeRef(node);
      drop.setNodeRef(node);
    },
    [drag.setNodeRef, drop.setNodeRef]
  );
  const onKeyDown = (event) => {
    if (onArrow && !disabled && ARROWS.includes(event.key) && event.target === event.currentTarget) {
      event.preventDefault();
      onArrow(event.key);
    }
  };
  const t = drag.transform;
  const moved = {
    transform: t ? `translate3d(${t.x}px, ${t.y}px, 0)` : undefined,
    position: drag.isDragging ? "relative" : undefined,
    zIndex: drag.isDragging ? 30 : undefined,
    boxShadow: drop.isOver && !drag.isDragging ? "0 -3px 0 var(--accent-9)" : undefined,
    cursor: disabled ? undefined : "grab",
  };
  return (
    <div
      ref={setRef}
      {...drag.attributes}
      {...drag.listeners}
      tabIndex={0}
      role="listitem"
      aria-roledescription={disabled ? undefined : "draggable card"}
      onKeyDown={onKeyDown}
      data-dragging={drag.isDragging ? "true" : undefined}
      style={{ ...style, ...moved }}
      {...rest}
    >
      {children}
    </div>
  );
}
