"""Journey d — adherence agrees with itself, on figures the whole loop produced.

`carepath demo` runs the invented clinic for 45 days up to the fixed clinic
clock (the flows plan, evaluate, remind and escalate every day; staff work
the queues; the nightly run stores each month's snapshots), then the real
`carepath serve` opens that data to a quality user in Chromium. For every
indicator the loop touched, the dashboard's headline, the indicator page, its
drill-down, its regimen and month tables and its trend chart show the same
figures — or, for a month whose stored snapshot differs from today's records,
the page says so and why (RULES.md §8, QM-01..20). An invalid or reversed
period shows the error and no figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.acceptance.harness import Carepath, User, sign_in

pytestmark = [pytest.mark.acceptance, pytest.mark.browser, pytest.mark.timeout(1500)]

DEMO_DAYS = "45"
PERIOD = "from=2026-10-01&to=2026-11-24"  # two months the demo filled, the last one settling
BAR = re.compile(r"^(\d{4}-\d{2}): .*\((\d+)/(\d+)\)(, live)?$")


@pytest.fixture(scope="module")
def clinic(carepath: Carepath, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Carepath]:
    """An installation whose database is a finished demo (on the session server's Prefect API)."""
    installation = Carepath(tmp_path_factory.mktemp("clinic"))
    try:
        installation.root.mkdir(parents=True, exist_ok=True)
        api = carepath.prefect_api
        installation.cli("demo", "--days", DEMO_DAYS, **({"PREFECT_API_URL": api} if api else {}))
        yield installation.start()
    finally:
        installation.close()


def numbers(text: str) -> tuple[int, int]:
    numerator, denominator = text.replace(" ", "").split("/")
    return int(numerator), int(denominator)


def headline(page: Any) -> dict[str, tuple[int, int]]:
    """Indicator id -> (numerator, denominator) of the dashboard's table."""
    found = {}
    for row in page.locator("table.adherence tbody tr").all():
        cells = row.locator("td").all()
        if len(cells) < 3 or "not computable" in cells[1].inner_text():
            continue
        ind = row.locator("td b").first.inner_text()
        found[ind] = (int(cells[1].inner_text()), int(cells[2].inner_text()))
    return found


def bars(figure: Any) -> dict[str, tuple[int, int, bool]]:
    """Month -> (numerator, denominator, live) of a trend chart, from each bar's title."""
    out = {}
    for title in figure.locator("svg.chart.rate title").all_text_contents():
        match = BAR.match(title.strip())
        if match:
            out[match[1]] = (int(match[2]), int(match[3]), bool(match[4]))
    return out


def table(page: Any, heading: str) -> dict[str, tuple[int, int]]:
    rows = page.locator(f"table:has(th:text-is('{heading}')) tbody tr").all()
    return {
        r.locator("td").nth(0).inner_text(): numbers(r.locator("td").nth(1).inner_text())
        for r in rows
        if r.locator("td").count() >= 2 and "/" in r.locator("td").nth(1).inner_text()
    }


def test_every_view_of_an_indicator_shows_the_same_figures(
    clinic: Carepath, page: Any, shots: Callable[[Any, str], Any]
) -> None:
    quality: User = clinic.add_user("quality")
    sign_in(page, clinic, quality)
    page.goto(f"{clinic.url}/adherence?{PERIOD}")
    shots(page, "dashboard")
    heads = headline(page)
    touched = {ind: nd for ind, nd in heads.items() if nd[1] > 0}
    assert len(touched) >= 5, heads  # the loop produced figures for many indicators

    explained = 0
    for ind, (num, den) in sorted(touched.items()):
        page.goto(f"{clinic.url}/adherence/{ind}?show=denominator&{PERIOD}")
        summary = page.locator("main p:has-text('on time (')").first.inner_text()
        assert summary.startswith(f"{num} of {den} on time"), (ind, summary)
        units = re.search(r"(\d+) units", page.inner_text("main"))
        assert units and int(units[1]) == den, (ind, "drill-down")
        regimens = table(page, "Regimen")
        months = table(page, "Month")
        for name, rows in (("regimen", regimens), ("month", months)):
            assert sum(n for n, _ in rows.values()) == num, (ind, name, rows)
            assert sum(d for _, d in rows.values()) == den, (ind, name, rows)
        chart = page.locator("figure.card").first
        notes = chart.locator(".snapshot-notes p").all_inner_texts()
        for month, (bar_num, bar_den, live) in bars(chart).items():
            today = months.get(month, (0, 0))
            if live or (bar_num, bar_den) == today:
                assert (bar_num, bar_den) == today, (ind, month)
            else:  # a stored snapshot that differs: the page says so, with both figures
                note = next((n for n in notes if n.startswith(f"{month}:")), None)
                assert note, (ind, month, "a differing snapshot without a note")
                assert f"{bar_num}/{bar_den}" in note and f"{today[0]}/{today[1]}" in note
                assert "frozen" in note
                explained += 1
                shots(page, f"{ind}-snapshot-note")
    print(f"journey d: {len(touched)} indicators agree; {explained} snapshot differences explained")


@pytest.mark.parametrize(
    "query, error",
    [
        ("from=2026-11-01&to=2026-10-01", "to: the period ends before it starts"),
        ("from=last+week", "from: must be a date"),
    ],
)
def test_a_bad_period_shows_its_error_and_no_figures(
    clinic: Carepath, page: Any, shots: Callable[[Any, str], Any], query: str, error: str
) -> None:
    quality = clinic.add_user("quality")
    sign_in(page, clinic, quality)
    for path in ("/adherence", "/adherence/QM-17"):
        page.goto(f"{clinic.url}{path}?{query}")
        text = page.inner_text("main")
        assert error in text and "No figures" in text, text[:500]
        assert page.locator("table.adherence, svg.chart, table.units").count() == 0
    shots(page, "bad-period")
