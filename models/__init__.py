"""Storage: SQLModel tables, the engine and session, repositories and snapshots.

This is the only package that talks SQL. Importing it registers every table on
``SQLModel.metadata`` (Alembic's target).
"""

from models.audit import AuditEvent
from models.comment import TaskComment
from models.observation import Observation
from models.ops import AdherenceSnapshot, PlanState, RunLedger
from models.pathway import Course, PathwayInstance, PhaseEvent, ResponseAssessmentRecord
from models.patient import (
    DiseaseFacts,
    DiseaseHistory,
    FitnessAssessment,
    Medication,
    Patient,
    PriorTherapy,
    Relapse,
)
from models.reminder import Reminder, ReminderDelivery
from models.task import CareTask, ClinicalAlert, TaskHandover
from models.user import ApiToken, AppUser, RateWindow, WebSession

__all__ = [
    "AdherenceSnapshot",
    "ApiToken",
    "AppUser",
    "AuditEvent",
    "CareTask",
    "ClinicalAlert",
    "Course",
    "DiseaseFacts",
    "DiseaseHistory",
    "FitnessAssessment",
    "Medication",
    "Observation",
    "PathwayInstance",
    "Patient",
    "PhaseEvent",
    "PlanState",
    "PriorTherapy",
    "RateWindow",
    "Relapse",
    "Reminder",
    "ReminderDelivery",
    "ResponseAssessmentRecord",
    "RunLedger",
    "TaskComment",
    "TaskHandover",
    "WebSession",
]
