"""The dose of a dose or premedication template: a named dose rule, or amounts by day."""

from __future__ import annotations

from typing import Any

from pathways.schedules.compile_base import CompilerBase
from pathways.schedules.doses import DOSE_RULES, DoseSpec
from pathways.schedules.templates import Timing


class DoseChecks(CompilerBase):
    def _dose(
        self,
        where: str,
        raw: Any,
        rule_ids: tuple[Any, ...],
        timing: Timing | None,
        used: list[str],
    ) -> DoseSpec | None:
        if not isinstance(raw, dict):
            self.problems.append(f"{where}: must be a mapping")
            return None
        ids = tuple(str(r) for r in rule_ids if r)
        days = timing.days if timing is not None and timing.mode == "points" else ()
        name = raw.get("rule")
        if name is not None:
            rule = DOSE_RULES.get(name) if isinstance(name, str) else None
            if rule is None:
                self.problems.append(f"{where}: unknown dose rule {name!r}")
                return None
            params: dict[str, Any] = {}
            for param, shape in rule.params.items():
                if param not in raw:
                    self.problems.append(f"{where}: dose rule {name} needs {param}")
                    continue
                params[param] = (
                    self._by_day(f"{where}.{param}", raw[param], days, used)
                    if shape == "by_day"
                    else raw[param]
                )
            unknown = set(raw) - {"rule", "drug", "unit", *rule.params}
            if unknown:
                self.problems.append(f"{where}: unknown dose keys {sorted(unknown)}")
            return DoseSpec(
                rule=name,
                drug=str(raw.get("drug", "")),
                unit=str(raw.get("unit", "")),
                params=params,
                rule_ids=ids,
            )
        unknown = set(raw) - {"drug", "unit", "amount", "by_day", "cap"}
        if unknown:
            self.problems.append(f"{where}: unknown dose keys {sorted(unknown)}")
        if not isinstance(raw.get("drug"), str) or not isinstance(raw.get("unit"), str):
            self.problems.append(f"{where}: needs drug and unit (or a dose rule)")
            return None
        if ("amount" in raw) == ("by_day" in raw):
            self.problems.append(f"{where}: give amount or by_day")
            return None
        if "amount" in raw:
            amount = self.number(f"{where}.amount", raw["amount"], used, integer=False, minimum=0)
            amounts = {0: float(amount)} if amount is not None else {}
        else:
            amounts = self._by_day(f"{where}.by_day", raw["by_day"], days, used)
        cap = None
        if "cap" in raw:
            cap = self.number(f"{where}.cap", raw["cap"], used, integer=False, minimum=0)
        return DoseSpec(
            rule=None,
            drug=raw["drug"],
            unit=raw["unit"],
            amounts=amounts,
            cap=None if cap is None else float(cap),
            rule_ids=ids,
        )

    def _by_day(
        self, where: str, raw: Any, days: tuple[int, ...], used: list[str]
    ) -> dict[int, float]:
        if not isinstance(raw, dict) or not raw:
            self.problems.append(f"{where}: must map days to amounts")
            return {}
        out: dict[int, float] = {}
        for day, amount in raw.items():
            value = self.number(f"{where}[{day}]", amount, used, integer=False, minimum=0)
            if not isinstance(day, int) or value is None:
                self.problems.append(f"{where}: invalid entry {day!r}: {amount!r}")
                continue
            out[day] = float(value)
        missing = [d for d in days if d not in out]
        if missing:
            self.problems.append(f"{where}: no amount for day(s) {missing}")
        return out
