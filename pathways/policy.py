"""The defaults an evaluation consults, recorded as it consults them.

Every value the source does not state is a named setting of the definition
(``defaults``). Engine code reads them through a ``Policy`` made for one
evaluation, so the output can say exactly which defaults — local policy, not
guideline — shaped it (RULES.md §10 rule 4).
"""

from __future__ import annotations

from typing import Any

from pathways.model import DefaultSetting, Definition


class Policy:
    __slots__ = ("_defaults", "used")

    def __init__(self, definition: Definition) -> None:
        self._defaults = definition.defaults
        self.used: set[str] = set()

    def __call__(self, name: str) -> Any:
        setting = self._defaults[name]
        self.used.add(name)
        return setting.value

    def setting(self, name: str) -> DefaultSetting:
        return self._defaults[name]

    def used_settings(self) -> list[DefaultSetting]:
        return [self._defaults[name] for name in sorted(self.used)]
