"""The workup checklist at r/r diagnosis (RULES.md §2): ``pathways.schedules.workup``, by its old name."""

from __future__ import annotations

from pathways.schedules.workup import validate_workup, workup_checklist, workup_window

__all__ = ["validate_workup", "workup_checklist", "workup_window"]
