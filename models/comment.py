"""Task comments: what the people working a task tell each other about it.

A comment is kept: never edited or deleted (the app's database role may only
insert and read the table, migration 0015_task_comments), and writing one is
an audit event in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, ts_field


class TaskComment(SQLModel, table=True):
    __tablename__ = "task_comment"
    __table_args__ = (sa.Index("ix_task_comment_task", "task_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = fk("care_task.id", index=False)
    patient_id: int
    author: str = Field(max_length=120)
    body: str = Field(max_length=2000)
    at: datetime = ts_field(nullable=False)
