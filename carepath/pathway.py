"""The pathway definition this installation runs, with the institution's policy applied."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from carepath.settings import Settings, get_settings
from pathways.definition import Definition, load_definition
from pathways.errors import DefinitionError


def read_policy(path: Path | None) -> dict[str, Any]:
    """Institution overrides of pathway defaults: a YAML mapping name -> value."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError("policy", [f"{path}: cannot be read: {exc}"]) from None
    if not isinstance(data, dict):
        raise DefinitionError("policy", [f"{path}: must be a mapping of default name -> value"])
    overrides = data.get("defaults", data)
    if not isinstance(overrides, dict):
        raise DefinitionError("policy", [f"{path}: 'defaults' must be a mapping"])
    return overrides


@lru_cache(maxsize=4)
def _load(name: str, version: str | None, policy_file: Path | None) -> Definition:
    return load_definition(name, version, overrides=read_policy(policy_file))


def active_definition(version: str | None = None) -> Definition:
    return definition_for(get_settings(), version)


def definition_for(settings: Settings, version: str | None = None) -> Definition:
    """The definition of the given settings (the web app holds its own settings)."""
    return _load(settings.pathway, version or settings.pathway_version, settings.policy_file)
