"""Fault tests: the dispatcher killed at random points, PostgreSQL restarted mid-plan.

    .venv/bin/python -m tests.faults [--kills 200] [--restarts 10]     (make fault-test)

``tests/flows/test_dispatcher_crash.py`` runs both at a size that fits CI;
this command runs them at full size and prints the figures of the README.
Each scenario starts a PostgreSQL of its own (embedded, in a temporary folder,
with the owner and app roles of production), so restarting it disturbs
nothing else.
"""
