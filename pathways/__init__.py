"""The clinic's knowledge: pure Python, no IO, no clock.

Versioned pathway definitions (data), the phase state machine, induction
selection, regimen schedules, monitoring rules, response classification, dose
arithmetic and adherence indicators. Functions take values and an explicit
``as_of`` and return decisions; callers persist and notify. Nothing here
imports sqlmodel, prefect, fastapi or psycopg (tests/pathways/test_purity.py).
"""
