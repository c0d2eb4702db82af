"""Floor 1 of the clinical core: concepts every other part of ``pathways`` builds on.

Modules here import nothing else of ``pathways`` (a test checks it), so the
one-way core can grow on them: the lab catalogue first (``labs``).
"""
