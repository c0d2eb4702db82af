"""Prefect flows: plan_care, evaluate_results, dispatch_reminders, escalate_overdue, adherence_report.

A flow is one operational job that reads as a story of a few calls: load
snapshots in batches, call ``pathways``, write the results set-based. Flows hold
no clinical rules.
"""
