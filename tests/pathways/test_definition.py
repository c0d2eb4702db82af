"""Loading a definition reports every problem of every section in one error (issue 3, item 1)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from pathways.definition import DEFINITIONS_DIR, load_definition
from pathways.errors import DefinitionError

SHIPPED = DEFINITIONS_DIR / "rr-all-adult" / "2026.1"


def test_problems_of_the_machine_and_the_schedules_come_in_one_error(tmp_path: Path) -> None:
    # rule: SM-01, SM-02, INO-05 — unknown state, guard, rule id, task kind and
    # predicate, an unreachable trap state and a task without a window, together.
    folder = tmp_path / "2026.1"
    shutil.copytree(SHIPPED, folder)
    pathway = yaml.safe_load((folder / "pathway.yaml").read_text(encoding="utf-8"))
    main = pathway["machines"]["main"]
    main["states"]["limbo"] = {"rule": "SM-01", "title": "never entered, never left"}
    main["transitions"].append(
        {
            "event": "oops",
            "from": ["workup"],
            "to": "nowhere",
            "rules": ["SM-02"],
            "guards": ["no_guard"],
        }
    )
    (folder / "pathway.yaml").write_text(yaml.safe_dump(pathway), encoding="utf-8")
    (folder / "regimens-bad.yaml").write_text(
        textwrap.dedent(
            """
            regimens:
              bad:
                applies_to: [donor_lymphocyte_infusion]
                tasks:
                  - {slot: a, rule: INO-99, kind: dose, role: clinician, title: x, day: 1}
                  - {slot: b, rule: INO-05, kind: teleport, role: clinician, title: x}
                  - {slot: c, rule: INO-05, kind: dose, role: clinician, title: x, day: 1, when: [full_moon]}
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as caught:
        load_definition("rr-all-adult", folder=folder)
    problems = "\n".join(caught.value.problems)
    for expected in (
        "names unknown guard 'no_guard'",
        "leads to unknown state 'nowhere'",
        "state 'limbo' is unreachable",
        "state 'limbo' is a trap",
        "unknown rule id 'INO-99'",
        "unknown task kind 'teleport'",
        "task has no window",
        "unknown predicate 'full_moon'",
    ):
        assert expected in problems


def test_a_state_title_cut_at_an_unquoted_comma_is_refused(tmp_path: Path) -> None:
    # rule: SM-07 — `{title: Post-remission, no HCT}` is two keys in YAML: the title
    # "Post-remission" and a key "no HCT"; the header showed the cut title.
    folder = tmp_path / "2026.1"
    shutil.copytree(SHIPPED, folder)
    source = (folder / "pathway.yaml").read_text(encoding="utf-8")
    quoted = 'title: "Post-remission, no HCT"}'
    assert quoted in source
    (folder / "pathway.yaml").write_text(
        source.replace(quoted, "title: Post-remission, no HCT}"), encoding="utf-8"
    )
    with pytest.raises(DefinitionError) as caught:
        load_definition("rr-all-adult", folder=folder)
    assert caught.value.problems == [
        "machines.main.states.post_remission_non_hct: unknown key 'no HCT' "
        "(a title with a comma must be quoted)"
    ]


def test_the_shipped_phase_titles_are_whole() -> None:
    states = load_definition("rr-all-adult").machines["main"].states
    assert states["post_remission_hct"]["title"] == "Post-remission, allogeneic HCT"
    assert states["post_remission_non_hct"]["title"] == "Post-remission, no HCT"
