"""Expand the compiled templates of a definition into one patient's planned tasks.

The templates are compiled once per definition object (``compiled_schedules``)
and reused for every patient. Planning one patient then works on date
ordinals, evaluates each named predicate once, skips occurrences outside the
horizon before building anything, and builds each ``PlannedTask`` exactly
once. Instants come from ``pathways.clock`` through a small cache, so local
midnight of a date is computed once per zone.

Keys have the shape ``{rule_id}:{scope}:{occurrence}:{slot}``: the scope is
the course (``Course.key``) or the dated anchor (``resp20261201``,
``fit20261103``, ``dx20261102``, ``wu20261102``); the occurrence is the cycle
and day (``c1:d8``, infusion day ``c1:d-7``), a pre-phase, induction,
maintenance or last-dose day (``p:d1``, ``i:d3``, ``m:d85``, ``ld:d30``), a
month (``c1:mo3``, ``mo6``) or the workup (``w``), e.g.
``INO-05:course17:c1:d8:lft_before_dose``. Nothing in a key depends on
``as_of``, so re-planning on another day upserts the same rows.
"""

from __future__ import annotations

from datetime import date
from operator import attrgetter
from typing import Any

from pathways.core.window import PLAN_HORIZON
from pathways.decisions import DoseSuggestion, PlannedTask
from pathways.facts import CaseFacts, Course
from pathways.model import Definition
from pathways.policy import Policy
from pathways.schedules.anchors import FALLBACK_WORDS, Anchor, course_anchor, occurrences
from pathways.schedules.compiled import CompiledSchedules, compiled_schedules
from pathways.schedules.context import (
    PlanContext,
)
from pathways.schedules.doses import dose_for
from pathways.schedules.predicates import PREDICATES, SUPPRESSION_ONLY
from pathways.schedules.prepared import (
    Prepared,
    occurrence_title,
    plan_field,
    window_instants,
    with_overlap,
)
from pathways.schedules.tasks import date_of, iso_of, new_task
from pathways.schedules.templates import Regimen, Template

__all__ = [
    "LOOKAHEAD_DAYS",
    "LOOKBACK_DAYS",
    "CompiledSchedules",
    "Planner",
    "compiled_schedules",
    "order",
]

_NEXT_CYCLE_FIELDS = frozenset({"next_cycle_day", "next_cycle_date"})
_UNSET: Any = object()


# CASE-FORMAT.md: the tasks from as_of - 14 days to as_of + 90 days (pathways.core.window).
LOOKBACK_DAYS = PLAN_HORIZON.lookback_days
LOOKAHEAD_DAYS = PLAN_HORIZON.lookahead_days


class Planner:
    """Plans one patient (one ``PlanContext``)."""

    __slots__ = (
        "anchors",
        "compiled",
        "ctx",
        "h0",
        "h1",
        "last_dose",
        "tasks",
        "workup_anchor",
        "workup_window",
    )

    @classmethod
    def for_patient(cls, facts: CaseFacts, definition: Definition, policy: Policy) -> Planner:
        """A planner over the definition's compiled templates for one patient's facts."""
        compiled = compiled_schedules(definition)
        ctx = PlanContext(facts, policy, compiled.values, LOOKBACK_DAYS, LOOKAHEAD_DAYS)
        return cls(ctx, compiled)

    def finish(self, policy: Policy) -> list[PlannedTask]:
        """The planned tasks in order; the policy records every default they used."""
        for name in self.ctx.used:
            policy(name)
        self.tasks.sort(key=order)
        return self.tasks

    def __init__(self, ctx: PlanContext, compiled: CompiledSchedules) -> None:
        self.ctx = ctx
        self.compiled = compiled
        self.tasks: list[PlannedTask] = []
        self.h0 = ctx.horizon_start.toordinal()
        self.h1 = ctx.horizon_end.toordinal()
        self.workup_window: tuple[int, int, str, tuple[str, ...]] | None = None
        self.anchors: dict[str, Anchor | None] = {}
        self.workup_anchor: tuple[Anchor, str, int, int, tuple[str, ...]] | None = None
        course = ctx.course
        self.last_dose = (
            course.last_dose_date.toordinal()
            if course is not None and course.last_dose_date is not None
            else None
        )

    # -- conditions -------------------------------------------------------------

    def pred(self, name: str) -> bool | None:
        cache = self.ctx.predicate_cache
        if name in cache:
            return cache[name]
        result = PREDICATES[name].test(self.ctx)
        cache[name] = result
        return result

    def applies(self, t: Template) -> tuple[str, ...] | None:
        """None when the template does not apply; else the unknown conditions it depends on."""
        if t.unconditional:
            return ()
        ctx = self.ctx
        if t.patient_phases is not None and ctx.phase not in t.patient_phases:
            return None
        course = ctx.course
        if t.phases is not None and (course is None or course.phase not in t.phases):
            return None
        if t.regimens is not None and (course is None or course.regimen not in t.regimens):
            return None
        unknown: tuple[str, ...] = ()
        cache = ctx.predicate_cache
        for name in t.when:
            answer = cache.get(name, _UNSET)
            if answer is _UNSET:
                answer = cache[name] = PREDICATES[name].test(ctx)
            if answer is False:
                return None
            if answer is None:
                unknown = (*unknown, PREDICATES[name].requires)
        return unknown

    # -- anchors ----------------------------------------------------------------

    def date_anchor(self, name: str) -> Anchor | None:
        facts = self.ctx.facts
        if name == "response":
            signed = facts.signed_response
            if signed is None:
                return None
            return Anchor(signed.signed_on, 0, f"resp{signed.signed_on:%Y%m%d}", "")
        if name == "fitness":
            assessed = facts.fitness.assessed_on
            if assessed is None:
                return None
            return Anchor(assessed, 0, f"fit{assessed:%Y%m%d}", "")
        if name == "dx":
            dx = facts.history.dx_date
            if dx is None:
                return None
            return Anchor(dx, 0, f"dx{dx:%Y%m%d}", "")
        if name == "last_dose":
            course = facts.treatment
            if course is None or course.last_dose_date is None:
                return None
            regimen = self.compiled.regimens.get(course.regimen)
            return Anchor(course.last_dose_date, 0, course.key, "ld:", regimen, course)
        course = self.ctx.course
        if course is None:
            return None
        return course_anchor(name, course, self.compiled.regimens.get(course.regimen))

    # -- emitting -------------------------------------------------------------------

    def emit_on(self, t: Template, anchor: Anchor, unknown: tuple[str, ...] | None = None) -> None:
        if unknown is None:
            unknown = () if t.unconditional else self.applies(t)
            if unknown is None:
                return
        mode = t.timing.mode
        if mode == "next_cycle":
            self._emit_next_cycle(t, anchor, unknown)
        elif mode == "span":
            self._emit_span(t, anchor, unknown, self._cycle_end(t, anchor))
        elif mode == "points":
            self._emit_points(t, anchor, unknown, self._cycle_end(t, anchor))
        else:
            self._emit_repeats(t, anchor, unknown, self._cycle_end(t, anchor))

    def _cycle_end(self, t: Template, anchor: Anchor) -> int | None:
        """The day after the anchor's cycle, for a template clipped to its cycle."""
        if not t.clip_to_cycle:
            return None
        course, regimen = anchor.course, anchor.regimen
        if regimen is None or course is None:
            return None
        length = regimen.cycle_length(course.cycle, course.cycle_length_days)
        return None if length is None else anchor.day0 + length

    def _outside(self, t: Template, ws: int, we: int) -> bool:
        """The window misses the horizon, or opens after the last dose of a while-on task."""
        last_dose = self.last_dose if t.while_on_treatment else None
        return we < self.h0 or ws > self.h1 or (last_dose is not None and ws > last_dose)

    def _emit_next_cycle(self, t: Template, anchor: Anchor, unknown: tuple[str, ...]) -> None:
        day = self.next_cycle_day(anchor)
        if day is None:
            return
        occ = anchor.day0 + day
        ws, we = occ - t.before_days, occ + t.after_days
        if self._outside(t, ws, we):
            return
        overlap = self.window_overlap(anchor)
        self.build(
            self.prepare(t, anchor, unknown, ()), f"{anchor.prefix}d{day}", ws, we, occ, day, None,
            overlap=overlap,
        )  # fmt: skip

    def _emit_span(
        self, t: Template, anchor: Anchor, unknown: tuple[str, ...], cycle_end: int | None
    ) -> None:
        first, last = t.timing.span
        ws, we = anchor.day0 + first - t.before_days, anchor.day0 + last + t.after_days
        if cycle_end is not None and we > cycle_end:
            we = max(ws, cycle_end)
        if self._outside(t, ws, we):
            return
        overlap = self.overlap_of(anchor, ws, we) if t.response_window else None
        self.build(
            self.prepare(t, anchor, unknown, ()), f"{anchor.prefix}d{first}", ws, we, ws, first, None,
            overlap=overlap,
        )  # fmt: skip

    def _emit_points(
        self, t: Template, anchor: Anchor, unknown: tuple[str, ...], cycle_end: int | None
    ) -> None:
        before, after, day0, h0 = t.before_days, t.after_days, anchor.day0, self.h0
        last_dose = self.last_dose if t.while_on_treatment else None
        # Only the days whose window can meet the horizon (and the last dose).
        low, high = h0 - after - day0, self.h1 + before - day0
        if last_dose is not None:
            high = min(high, last_dose + before - day0)
        prep: Prepared | None = None
        for point, point_label in zip(t.timing.days, t.day_labels, strict=True):
            if point < low or point > high:
                continue
            occ = day0 + point
            ws, we = occ - before, occ + after
            if cycle_end is not None and we > cycle_end:
                we = max(ws, cycle_end)
                if we < h0:
                    continue
            if prep is None:
                prep = self.prepare(t, anchor, unknown, ())
            self.build(prep, anchor.prefix + point_label, ws, we, occ, point, None)

    def _emit_repeats(
        self, t: Template, anchor: Anchor, unknown: tuple[str, ...], cycle_end: int | None
    ) -> None:
        prep: Prepared | None = None
        for day, month, occ in occurrences(t, anchor, self.h0, self.h1, self.ctx.horizon_start):
            ws = occ - t.before_days
            we = occ + t.after_days
            if cycle_end is not None and we > cycle_end:
                we = max(ws, cycle_end)
            if self._outside(t, ws, we):
                continue
            if prep is None:
                prep = self.prepare(t, anchor, unknown, ())
            label = f"{anchor.prefix}d{day}" if month is None else f"{anchor.prefix}mo{month}"
            self.build(prep, label, ws, we, occ, day, month)

    def emit_window(
        self,
        t: Template,
        anchor: Anchor,
        label: str,
        ws: int,
        we: int,
        extra_defaults: tuple[str, ...] = (),
        unknown: tuple[str, ...] | None = None,
    ) -> None:
        if unknown is None:
            unknown = () if t.unconditional else self.applies(t)
        if unknown is None or we < self.h0 or ws > self.h1:
            return
        self.build(self.prepare(t, anchor, unknown, extra_defaults), label, ws, we, ws, None, None)

    def prepare(
        self, t: Template, anchor: Anchor, unknown: tuple[str, ...], extra: tuple[str, ...]
    ) -> Prepared:
        """What every occurrence of ``t`` on ``anchor`` shares, computed once."""
        detail = dict(t.static_detail)
        detail["anchor_date"] = anchor.iso
        if anchor.fallback_of is not None:
            detail["anchor_fallback"] = (
                f"{FALLBACK_WORDS.get(anchor.fallback_of, anchor.fallback_of)} not recorded: "
                f"counted from {FALLBACK_WORDS.get(t.fallback or '', t.fallback)} instead"
            )
        if unknown:
            detail["applies_if"] = unknown
        if t.requirement is not None:
            requirement = t.requirement
            if t.required_when and all(self.pred(n) is True for n in t.required_when):
                requirement = "required"
            detail["requirement"] = requirement
        title = t.title
        course, regimen = anchor.course, anchor.regimen
        for name in t.plan_fields:
            title = title.replace(f"{{{name}}}", str(plan_field(name, t, anchor)))
        if t.waits_on is not None and self.pred(t.waits_on[0]) is True:
            detail["waits_on"] = t.waits_on[1]
            title = f"{title} — waits on {t.waits_on[1]}"
        if course is not None and regimen is not None:
            if t.title_fields & _NEXT_CYCLE_FIELDS:
                length = regimen.cycle_length(course.cycle, course.cycle_length_days)
                if length is not None:
                    next_date = iso_of(course.cycle_start.toordinal() + length)
                    title = title.replace("{next_cycle_day}", str(length + 1))
                    title = title.replace("{next_cycle_date}", next_date)
                    detail["next_cycle_day_1"] = next_date
                    extra = (
                        *extra,
                        *regimen.cycle_length_defaults(course.cycle, course.cycle_length_days),
                    )
            if t.clip_to_cycle:
                extra = (
                    *extra,
                    *regimen.cycle_length_defaults(course.cycle, course.cycle_length_days),
                )
        defaults = t.defaults_used
        if extra:
            defaults = tuple(sorted({*defaults, *extra}))
        self.ctx.used.update(defaults)
        blocks = None
        if t.blocks is not None and regimen is not None:
            blocks = self.blocked_target(t, regimen)
        return Prepared(t, anchor, detail, title, defaults, blocks, self.ctx.tz)

    # -- the next cycle (NEL-01) -------------------------------------------------------

    def next_cycle_day(self, anchor: Anchor) -> int | None:
        """The cycle-day number of the next cycle's day 1 (cycle length + 1), if known."""
        course, regimen = anchor.course, anchor.regimen
        if course is None or regimen is None:
            return None
        length = regimen.cycle_length(course.cycle, course.cycle_length_days)
        return None if length is None else length + 1

    def overlap_of(self, anchor: Anchor, ws: int, we: int) -> dict[str, Any] | None:
        """The part of a window on or after the next cycle's day 1, or None."""
        day = self.next_cycle_day(anchor)
        if day is None or anchor.course is None:
            return None
        next_d1 = anchor.day0 + day
        if we < next_d1:
            return None
        return {
            "next_cycle": anchor.course.cycle + 1,
            "next_cycle_day_1": iso_of(next_d1),
            "window": [iso_of(ws), iso_of(we)],
            "overlapping_days": [iso_of(max(ws, next_d1)), iso_of(we)],
        }

    def window_overlap(self, anchor: Anchor) -> dict[str, Any] | None:
        """Whether the course's response-assessment window reaches the next cycle's day 1."""
        window = self.response_window()
        return None if window is None else self.overlap_of(anchor, window[0], window[1])

    def build(
        self,
        prep: Prepared,
        label: str,
        ws: int,
        we: int,
        occ: int,
        day: int | None,
        month: int | None,
        *,
        overlap: dict[str, Any] | None = None,
    ) -> None:
        """One planned task: ``prep`` in the window ``ws..we`` (date ordinals) at ``occ``."""
        t = prep.template
        due = occ if t.due == "day" else (ws if t.due == "start" else we)
        detail = dict(prep.detail)
        if t.shown:  # a fresh mapping per task: details are the caller's to keep
            detail["policy"] = dict(t.shown)
        dose, title, defaults = self.dosed(prep, day, detail)
        title = occurrence_title(prep, title, we, day, month)
        if overlap is not None:
            title = with_overlap(title, detail, overlap)
        start, due_date, end_date, not_before, due_at, expires = window_instants(prep, ws, we, due)
        self.tasks.append(
            new_task(
                prep.key_head + label + prep.key_tail,
                t.kind,
                t.rule,
                title,
                t.role,
                start,
                due_date,
                end_date,
                not_before,
                due_at,
                expires,
                t.section,
                prep.regimen_id,
                prep.cycle,
                day,
                t.panel,
                dose,
                t.safety,
                None if prep.block_head is None else prep.block_head + label + prep.block_tail,
                t.result_fields,
                defaults,
                detail,
            )
        )

    def dosed(
        self, prep: Prepared, day: int | None, detail: dict[str, Any]
    ) -> tuple[DoseSuggestion | None, str, tuple[str, ...]]:
        """A dose task's suggestion (in its title and ``detail``), title and defaults used."""
        t = prep.template
        if t.dose is None:
            return None, prep.title, prep.defaults
        result = dose_for(self.ctx, t.dose, day or 0)
        title = prep.title.replace("{dose}", result.label)
        if result.detail:
            detail.update(result.detail)
        defaults = prep.defaults
        if result.defaults:
            defaults = tuple(sorted({*defaults, *result.defaults}))
            self.ctx.used.update(result.defaults)
        return result.suggestion, title, defaults

    def blocked_target(self, t: Template, regimen: Regimen) -> Template | None:
        """The template of the task ``t`` blocks: the first one with that slot that applies."""
        for target in regimen.tasks:
            if target.slot == t.blocks and target is not t and self.applies(target) is not None:
                return target
        return None

    # -- sections ---------------------------------------------------------------------

    def plan_course(self, course: Course, regimen: Regimen) -> None:
        anchors: dict[str, Anchor | None] = {}
        for t in regimen.course_tasks(course.phase):
            unknown = () if t.unconditional else self.applies(t)
            if unknown is None:
                continue
            if t.anchor not in anchors:
                anchors[t.anchor] = course_anchor(t.anchor, course, regimen)
            anchor = anchors[t.anchor]
            if anchor is not None:
                self.emit_on(t, anchor, unknown)

    def plan_last_dose(self) -> None:
        anchor = self.anchor("last_dose")
        if anchor is None or anchor.regimen is None:
            return
        for t in anchor.regimen.tasks:
            if t.anchor == "last_dose":
                self.emit_on(t, anchor)

    def response_window(self) -> tuple[int, int, int, tuple[str, ...]] | None:
        """(first day, last day, day number, defaults) of the course's response assessment."""
        course = self.ctx.course
        if course is None:
            return None
        regimen = self.compiled.regimens.get(course.regimen)
        if regimen is None:
            return None
        for t in regimen.tasks:
            if not t.response_window:
                continue
            if t.phases is not None and course.phase not in t.phases:
                continue
            if any(self.pred(n) is False for n in t.when if n not in SUPPRESSION_ONLY):
                continue
            anchor = course_anchor(t.anchor, course, regimen)
            if anchor is None:
                continue
            timing = t.timing
            first_day = timing.span[0] if timing.mode == "span" else timing.days[0]
            last_day = timing.span[1] if timing.mode == "span" else first_day
            ws = anchor.day0 + first_day - t.before_days
            we = anchor.day0 + last_day + t.after_days
            if t.clip_to_cycle:
                length = regimen.cycle_length(course.cycle, course.cycle_length_days)
                if length is not None:
                    we = max(ws, min(we, anchor.day0 + length))
            return ws, we, first_day, t.defaults_used
        return None

    def fallback_anchor(self, t: Template) -> Anchor | None:
        """The fallback anchor of ``t``, marked so its tasks say which date they stand in for."""
        found = self.anchor(t.fallback or "")
        if found is None:
            return None
        marked = Anchor(
            found.start, found.start.toordinal() - found.day0, found.scope, found.prefix
        )
        marked.regimen, marked.course, marked.fallback_of = found.regimen, found.course, t.anchor
        return marked

    def anchor(self, name: str) -> Anchor | None:
        """The named anchor for this patient, resolved once per plan."""
        cache = self.anchors
        if name not in cache:
            cache[name] = self.date_anchor(name)
        return cache[name]

    def plan_followup(self) -> None:
        window: tuple[int, int, int, tuple[str, ...]] | None = None
        window_known = False
        course = self.ctx.course
        for t in self.compiled.followup_templates(course, self.ctx.phase):
            unknown = () if t.unconditional else self.applies(t)
            if unknown is None:
                continue
            if t.anchor == "response_window":
                if not window_known:
                    window, window_known = self.response_window(), True
                course = self.ctx.course
                if window is None or course is None:
                    continue
                ws, we, day, used = window
                anchor = Anchor(
                    date.fromordinal(ws),
                    0,
                    course.key,
                    "",
                    self.compiled.regimens.get(course.regimen),
                    course,
                )
                self.emit_window(t, anchor, f"c{course.cycle}:d{day}", ws, we, used, unknown)
                continue
            resolved = self.anchor(t.anchor)
            if resolved is None and t.fallback is not None:
                if t.fallback == "workup":
                    if self.workup_window is not None:
                        self.emit_window(t, *self.workup_args(), unknown)
                    continue
                resolved = self.fallback_anchor(t)
            if resolved is not None:
                self.emit_on(t, resolved, unknown)

    def plan_workup(self) -> None:
        if self.workup_window is None:
            return
        scope = self.workup_window[2]
        for t in self.compiled.workup:
            unknown = () if t.unconditional else self.applies(t)
            if unknown is None:
                continue
            if t.anchor == "workup":
                self.emit_window(t, *self.workup_args(), unknown)
                continue
            anchor = self.anchor(t.anchor)
            if anchor is not None:
                if t.anchor == "induction_day":
                    # Workup items stay in the workup's key scope, not the course's.
                    anchor = Anchor(anchor.start, 1, scope, anchor.prefix)
                self.emit_on(t, anchor, unknown)
            elif t.fallback == "workup":
                self.emit_window(t, *self.workup_args(), unknown)
            elif t.fallback is not None:
                fallback = self.fallback_anchor(t)
                if fallback is not None:
                    self.emit_on(t, fallback, unknown)

    def workup_args(self) -> tuple[Anchor, str, int, int, tuple[str, ...]]:
        if self.workup_anchor is None:
            ws, we, scope, used = self.workup_window or (0, 0, "", ())
            self.workup_anchor = (Anchor(date_of(ws), 0, scope, ""), "w", ws, we, used)
        return self.workup_anchor


# Deterministic plan order: due instant, then key.
order = attrgetter("due", "key")
