"""The repository coverage config (codecov.yml): find it, parse it safely, validate and layer it."""

from stream_app.config.fetch import CommitYaml, fetch_commit_yaml, find_yaml_path
from stream_app.config.merge import (
    SITE_DEFAULTS,
    ResolvedConfig,
    YamlError,
    deep_merge,
    parse_yaml,
    resolve_config,
    validate_yaml,
)
from stream_app.config.schema import CommentConfig, CoverageConfig, StatusConfig, StatusKind

__all__ = [
    "SITE_DEFAULTS",
    "CommentConfig",
    "CommitYaml",
    "CoverageConfig",
    "ResolvedConfig",
    "StatusConfig",
    "StatusKind",
    "YamlError",
    "deep_merge",
    "fetch_commit_yaml",
    "find_yaml_path",
    "parse_yaml",
    "resolve_config",
    "validate_yaml",
]
