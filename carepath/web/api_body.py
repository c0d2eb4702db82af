"""What an API request body may hold: exactly the fields its document declares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A request body that refuses a field it does not declare (a misspelt field is a 422
    naming it, not a value silently dropped)."""

    model_config = ConfigDict(extra="forbid")
