"""Routers, one per area: sign-in, queue, patients, clinician actions, audit, admin, API."""
