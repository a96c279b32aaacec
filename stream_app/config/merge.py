"""Parse, validate and layer coverage configs: site defaults < owner < repo < commit (< override).

Invalid YAML is a value (`YamlError`), never an exception: the layer is left out, the error
is reported, and the remaining layers still apply.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from stream_app.config.schema import CoverageConfig

MAX_YAML_BYTES = 256 * 1024
MAX_NODES = 20_000  # values after expanding aliases: more looks like an expansion bomb

SITE_DEFAULTS: dict[str, Any] = {
    "codecov": {"require_ci_to_pass": True, "notify": {"wait_for_ci": True}},
    "coverage": {"precision": 2, "round": "down", "status": {"project": True, "patch": True, "changes": False}},
    "comment": {"layout": "reach,diff,flags,files,footer", "behavior": "default", "require_changes": False},
}


@dataclass(frozen=True)
class YamlError:
    source: str  # which layer or file, e.g. "commit:.github/codecov.yml" or "owner"
    message: str


@dataclass(frozen=True)
class ResolvedConfig:
    config: CoverageConfig
    data: dict[str, Any]  # the merged dict (JSON-able)
    errors: tuple[YamlError, ...] = ()


class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps, so every value stays JSON-able."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`: mappings merge key by key, anything else (lists too) replaces."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def validate_yaml(data: Any, *, source: str) -> dict[str, Any] | YamlError:
    """`data` as a JSON-able dict when it is a valid (partial) config, else the error."""
    if not isinstance(data, dict):
        return YamlError(source, f"the config must be a mapping, not {type(data).__name__}")
    try:
        plain = json.loads(json.dumps(data))
    except (TypeError, ValueError) as exc:
        return YamlError(source, f"values must be plain data ({exc})")
    try:
        CoverageConfig.model_validate(plain)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        return YamlError(source, f"invalid config: {problems}")
    return dict(plain)


def parse_yaml(content: bytes | str, *, source: str) -> dict[str, Any] | YamlError:
    """Safe-load and validate one YAML document; an empty document is an empty config."""
    if len(content) > MAX_YAML_BYTES:
        return YamlError(source, f"larger than {MAX_YAML_BYTES // 1024} KiB")
    try:
        data = yaml.load(content, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        return YamlError(source, "invalid YAML: " + " ".join(str(exc).split()))
    if _expanded_size(data, {}) > MAX_NODES:
        return YamlError(source, f"more than {MAX_NODES} values once aliases are expanded")
    return validate_yaml({} if data is None else data, source=source)


def _expanded_size(value: Any, sizes: dict[int, int]) -> int:
    """How many values `value` holds with aliases expanded; shared objects are counted once each."""
    if not isinstance(value, dict | list):
        return 1
    known = sizes.get(id(value))
    if known is not None:
        return known
    sizes[id(value)] = MAX_NODES + 1  # a recursive alias counts as too large
    children = value.values() if isinstance(value, dict) else value
    size = 1
    for child in children:
        size += _expanded_size(child, sizes)
        if size > MAX_NODES:
            break
    sizes[id(value)] = size
    return size


def resolve_config(
    *,
    owner_yaml: Any = None,
    repo_yaml: Any = None,
    commit_yaml: Any = None,
    override: Any = None,
) -> ResolvedConfig:
    """The effective config: defaults < owner < repo < commit < override, invalid layers skipped."""
    merged = copy.deepcopy(SITE_DEFAULTS)
    errors: list[YamlError] = []
    layers = (("owner", owner_yaml), ("repo", repo_yaml), ("commit", commit_yaml), ("override", override))
    for source, layer in layers:
        if layer is None:
            continue
        valid = validate_yaml(layer, source=source)
        if isinstance(valid, YamlError):
            errors.append(valid)
        else:
            merged = deep_merge(merged, valid)
    try:
        return ResolvedConfig(CoverageConfig.model_validate(merged), merged, tuple(errors))
    except ValidationError as exc:  # layers valid alone but not together: fall back to the defaults
        errors.append(YamlError("merged", f"invalid config after merging: {exc.error_count()} errors"))
        return ResolvedConfig(CoverageConfig.model_validate(SITE_DEFAULTS), copy.deepcopy(SITE_DEFAULTS), tuple(errors))
