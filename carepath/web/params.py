"""Bounds of the numbers a URL carries: ids, filters, offsets.

A record id is a PostgreSQL ``integer`` (int4); a larger one is no record,
and sent to the database it fails the query instead of finding nothing. Ids,
id filters and offsets are bounded at the door, so a wrong one answers 422
with a problem document naming the parameter, and the OpenAPI document says
the bounds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

INT4_MAX = 2**31 - 1

RecordId = Annotated[int, Path(ge=1, le=INT4_MAX)]
IdFilter = Annotated[int | None, Query(ge=1, le=INT4_MAX)]
Offset = Annotated[int, Query(ge=0, le=INT4_MAX)]
