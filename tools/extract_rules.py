"""Build the rule catalogue of the pathway definition from RULES.md.

The engine must not read ``../shared`` at run time, so the ids, provenance tags
and source sections of RULES.md are copied into
``pathways/definitions/rules-catalogue.yaml``. ``tests/pathways/test_rules_catalogue.py``
regenerates it and fails when the two drift apart.

    python tools/extract_rules.py ../shared/clinical/RULES.md > pathways/definitions/rules-catalogue.yaml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ID = r"(?:SM-(?:\d{2}|P\d)|(?:DEF|WU|FIT|IND|BLIN|INO|CART|REV|NEL|PH|CHEMO|CNS|TEST|RESP|POST|MULTI|MON|QM|AMB|OUT)-\d{2}[a-z]?)"
TABLE_ROW = re.compile(rf"^\|\s*({ID})\s*\|(.*)$")
BOLD = re.compile(rf"^(?:- )?\*\*({ID})\b(.*)$")
CODE = re.compile(rf"^({ID})\s+(.*)$")
HEADING = re.compile(rf"^###\s+({ID})\s+(.*)$")
SECTION = re.compile(r"^##+\s+(\d+(?:\.\d+)?)\.?\s+(.*)$")
TAG = re.compile(r"\[(SRC|DER|DEFAULT)\]")
CITATION = re.compile(r"\[([A-Z][^\]\[]*?)\]")
NOT_CITATIONS = {"SRC", "DER", "DEFAULT"}
# The source heading a RULES.md section paraphrases, used for a rule whose row
# names no citation of its own (marked ``sources_from_section: true``).
SECTION_SOURCES = {
    "1": "Response assessment",
    "2": "Evaluation > Clinical and laboratory evaluation",
    "3": "Evaluation > Medical fitness",
    "5.1": "Blinatumomab > Administration",
    "5.2": "Inotuzumab ozogamicin > Administration",
    "5.3": "CAR-T cell therapy",
    "5.4": "KMT2A (chromosome 11q23) rearranged",
    "5.5": "T cell ALL",
    "5.6": "Ph-positive ALL",
    "5.7": "CD19- and CD22-negative > Others",
    "5.8": "Extramedullary disease > Central nervous system management",
    "5.9": "Extramedullary disease > Testicular involvement",
    "6.1": "Response assessment",
    "6.2": "Post-remission management > Transplant-eligible",
    "6.3": "Post-remission management > Less fit",
    "6.4": "Multiply relapsed ALL",
}


def _clean(text: str) -> str:
    text = re.sub(r"\*\*|`", "", text)
    text = re.sub(r"\s*\|\s*", " | ", text).strip(" |")
    return re.sub(r"\s+", " ", text)


def _citations(text: str) -> list[str]:
    found: list[str] = []
    for match in CITATION.finditer(text):
        key = match.group(1).strip()
        if key in NOT_CITATIONS or key.startswith(("Heading", "DEFAULT")):
            continue
        for part in key.split("; "):
            if part not in found:
                found.append(part)
    return found


def _tag(text: str) -> str | None:
    tags = TAG.findall(text)
    if tags:
        return tags[0]
    lowered = text.lower()
    if "not in source" in lowered:
        return "DEFAULT"
    if "[src]" in lowered or "source" in lowered:
        return None
    return None


def extract(rules_md: str) -> dict[str, dict[str, object]]:
    """Every rule id of RULES.md, first mention only, with its section, tag, sources and text."""
    catalogue: dict[str, dict[str, object]] = {}
    section = ""
    lines = rules_md.splitlines()
    in_code = False
    previous_sources: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith("```"):
            in_code = not in_code
            continue
        heading = SECTION.match(line)
        if heading and not in_code:
            section = heading.group(1)
        found = _rule_line(line, in_code)
        if found is None or found[1].group(1) in catalogue:
            continue
        pattern, match = found
        rule_id, rest = match.group(1), match.group(2)
        body = _body(pattern, rest, lines, index)
        sources = _citations(body)
        # Table rows cite "same" for the source of the row above.
        if not sources and pattern is TABLE_ROW and re.search(r"\|\s*same\b", rest):
            sources = list(previous_sources)
        previous_sources = sources
        catalogue[rule_id] = _entry(section, body, sources)
    return dict(sorted(catalogue.items(), key=lambda item: _sort_key(item[0])))


def _rule_line(line: str, in_code: bool) -> tuple[re.Pattern[str], re.Match[str]] | None:
    """The rule a line opens: a heading, a table row, a bold paragraph, or in code a tree line."""
    for pattern in (HEADING, TABLE_ROW, BOLD) if not in_code else (CODE,):
        match = pattern.match(line)
        if match:
            return pattern, match
    return None


def _body(pattern: re.Pattern[str], rest: str, lines: list[str], index: int) -> str:
    """The rule's text: its line, and the lines that continue it."""
    body = rest
    # A bold rule's paragraph continues on the following indented lines.
    if pattern is BOLD or pattern is HEADING:
        for follow in lines[index + 1 : index + 40]:
            if not follow.strip() or BOLD.match(follow) or follow.startswith("#"):
                break
            body += " " + follow.strip()
    # A decision-tree line in a code block continues on its indented lines.
    if pattern is CODE:
        for follow in lines[index + 1 : index + 10]:
            if not follow.startswith(" "):
                break
            body += " " + follow.strip()
    return body


def _entry(section: str, body: str, sources: list[str]) -> dict[str, object]:
    entry: dict[str, object] = {"section": section, "tag": _tag(body), "sources": sources}
    if not sources and section in SECTION_SOURCES:
        entry["sources"] = [SECTION_SOURCES[section]]
        entry["sources_from_section"] = True
    entry["text"] = _clean(body)[:240]
    return entry


def _sort_key(rule_id: str) -> tuple[str, str]:
    prefix, _, number = rule_id.partition("-")
    return prefix, number.zfill(4)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    catalogue = extract(Path(argv[1]).read_text(encoding="utf-8"))
    header = (
        "# Generated by tools/extract_rules.py from RULES.md; do not edit by hand.\n"
        "# Every rule id of the clinical catalogue with its RULES.md section, provenance\n"
        "# tag ([SRC] / [DER] / [DEFAULT], null when the row carries none) and source sections.\n"
    )
    sys.stdout.write(header)
    sys.stdout.write(yaml.safe_dump(catalogue, sort_keys=False, allow_unicode=True, width=100))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
