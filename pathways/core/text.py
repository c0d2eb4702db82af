"""Text that is safe to store and to show: the one check behind every door.

Every door that takes text (web forms, the REST API's bodies and query
strings, the command line, the case file, and later FHIR and HL7 v2) asks
this module, so a character refused at one door is refused at all of them:

- ``text_problem`` — one value; ``unsafe_strings`` — every string (and key) of
  a decoded JSON document or form, by field path;
- ``SafeText``, ``OneLine`` and ``PersonName`` — the same checks as pydantic
  types, for models that hold text.

Refused everywhere: the C0 and C1 control characters (NUL, escape, …), except
tab, line feed and carriage return in free text; unpaired surrogates (not
text at all: PostgreSQL cannot store them); and the bidirectional overrides
and isolates, which make text display in another order than it is stored.
Free text keeps its line breaks (a reason, a note); a one-line value (an MRN,
a name) does not. A person's name must not hold markup either: names are
shown on every page, in reminders and in exports, where markup could be read
as such. Messages are plain words and never repeat the value, which may be
patient data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator

# C0 controls but tab, LF and CR; DEL and the C1 controls; unpaired surrogates;
# bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069).
_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)
_LINE_BREAKS = re.compile("[\t\n\r]")
# Angle brackets (tags, comments) or a character reference (&lt; &#60; &#x3c;).
_MARKUP = re.compile(r"[<>]|&(#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")


def _describe(char: str) -> str:
    if "\ud800" <= char <= "\udfff":
        return "a broken character (an unpaired surrogate)"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return f"an invisible text-direction character (U+{ord(char):04X})"
    name = "NUL" if char == "\x00" else f"U+{ord(char):04X}"
    return f"an invisible control character ({name})"


def text_problem(value: str, *, one_line: bool = False) -> str | None:
    """What is wrong with ``value`` as stored text, in plain words; None when it is fine."""
    found = _REFUSED.search(value)
    if found is not None:
        return (
            f"contains {_describe(found.group())} at position {found.start() + 1}; "
            "type the text again without it"
        )
    if one_line and _LINE_BREAKS.search(value):
        return "must be on one line (no line breaks or tabs)"
    return None


def name_problem(value: str) -> str | None:
    """``text_problem`` for a person's name, on one line and without markup."""
    problem = text_problem(value, one_line=True)
    if problem is None and _MARKUP.search(value):
        problem = "must be a name, without markup such as < > or &…; codes"
    return problem


def unsafe_strings(data: Any, path: str = "") -> dict[str, str]:
    """The problem of every string in ``data`` (nested dicts and lists) by field path.

    Paths read like the case file's (``patient.name``, ``labs[2].unit``); a bad
    key is reported at the path of the object that holds it.
    """
    return dict(_walk(data, path))


def _walk(data: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(data, str):
        problem = text_problem(data)
        if problem is not None:
            yield path or "(value)", problem
    elif isinstance(data, Mapping):
        for key, value in data.items():
            key_text = str(key)
            key_problem = text_problem(key_text, one_line=True)
            if key_problem is not None:
                yield path or "(document)", f"a field name {key_problem}"
                continue
            yield from _walk(value, f"{path}.{key_text}" if path else key_text)
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            yield from _walk(item, f"{path}[{index}]")


def _checked(check: Any) -> AfterValidator:
    def validate(value: str) -> str:
        problem = check(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


SafeText = Annotated[str, _checked(text_problem)]
OneLine = Annotated[str, _checked(lambda v: text_problem(v, one_line=True))]
PersonName = Annotated[str, _checked(name_problem)]
