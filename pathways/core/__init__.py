"""Floor 1 of the clinical core: concepts every other part of ``pathways`` builds on.

Modules here import nothing else of ``pathways`` (a test checks it), so the
one-way core can grow on them, and code outside ``pathways`` may use them
directly: the lab catalogue (``labs``), the task window, the open statuses
and the horizon (``window``), the pre-phase of a first induction course
(``prephase``), safe text and plain-words field errors for every door
(``text``, ``field_errors``), and the one JSON form of engine values
(``json_form``).
"""
