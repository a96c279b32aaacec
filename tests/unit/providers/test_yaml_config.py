"""Coverage config: safe parsing, validation, layering (no I/O)."""

from __future__ import annotations

import pytest

from stream_app.config import (
    SITE_DEFAULTS,
    CoverageConfig,
    YamlError,
    deep_merge,
    parse_yaml,
    resolve_config,
    validate_yaml,
)
from stream_app.config.merge import MAX_YAML_BYTES

FULL = b"""
codecov:
  require_ci_to_pass: false
  notify:
    wait_for_ci: false
    after_n_builds: 3
coverage:
  status:
    project:
      default:
        target: 80%
        threshold: 1%
      frontend:
        target: auto
        flags: [ui]
        informational: true
    patch:
      default:
        only_pulls: true
        branches: [main, "release/*"]
        set_pending: false
        if_not_found: failure
        if_ci_failed: success
    changes: true
comment:
  layout: "reach, diff, files"
  behavior: once
fixes:
  - "old/::new/"
ignore:
  - "tests/**"
flags:
  ui:
    paths: [web/]
    carryforward: true
unknown_key_kept: 1
"""


def test_a_full_config_parses_into_the_fields_tasks_read() -> None:
    data = parse_yaml(FULL, source="commit:codecov.yml")
    assert not isinstance(data, YamlError)
    config = CoverageConfig.model_validate(data)

    assert config.codecov.require_ci_to_pass is False
    assert config.codecov.notify.wait_for_ci is False
    assert config.codecov.notify.after_n_builds == 3
    project = config.coverage.status.contexts("project")
    assert project["default"].target == 80.0 and project["default"].threshold == 1.0
    assert project["frontend"].target == "auto" and project["frontend"].informational
    patch = config.coverage.status.contexts("patch")["default"]
    assert (patch.only_pulls, patch.branches, patch.set_pending) == (True, ["main", "release/*"], False)
    assert (patch.if_not_found, patch.if_ci_failed) == ("failure", "success")
    assert list(config.coverage.status.contexts("changes")) == ["default"]
    assert config.comment and config.comment.behavior == "once"
    assert config.comment.sections == ["reach", "diff", "files"]
    assert config.fixes == ["old/::new/"] and config.ignore == ["tests/**"]
    assert config.flags["ui"].carryforward
    assert data["unknown_key_kept"] == 1


def test_defaults_when_nothing_is_configured() -> None:
    resolved = resolve_config()
    config = resolved.config
    assert resolved.errors == ()
    assert config.codecov.require_ci_to_pass and config.codecov.notify.wait_for_ci
    assert config.codecov.notify.after_n_builds is None
    assert list(config.coverage.status.contexts("project")) == ["default"]
    assert list(config.coverage.status.contexts("patch")) == ["default"]
    assert config.coverage.status.contexts("changes") == {}
    assert config.comment and config.comment.behavior == "default"


@pytest.mark.parametrize(
    ("text", "project", "patch"),
    [
        (b"coverage: {status: {project: off}}", [], ["default"]),
        (b"coverage: {status: false}", [], []),
        (b"coverage: {status: {project: {target: 70}}}", ["default"], ["default"]),
        (b"coverage: {status: {project: {a: true, b: false}}}", ["a"], ["default"]),
        (b"coverage: {status: {project: null}}", ["default"], ["default"]),
    ],
)
def test_status_shorthands(text: bytes, project: list[str], patch: list[str]) -> None:
    config = resolve_config(commit_yaml=parse_yaml(text, source="t")).config
    assert list(config.coverage.status.contexts("project")) == project
    assert list(config.coverage.status.contexts("patch")) == patch


def test_comment_off() -> None:
    assert resolve_config(commit_yaml={"comment": False}).config.comment is False


def test_layers_merge_defaults_owner_repo_commit_override_in_order() -> None:
    owner = {"codecov": {"notify": {"after_n_builds": 1}}, "comment": {"behavior": "new"}, "ignore": ["a"]}
    repo = {"codecov": {"notify": {"after_n_builds": 2}}, "ignore": ["b"]}
    commit = {"codecov": {"notify": {"wait_for_ci": False}}}
    override = {"comment": {"layout": "diff"}}

    resolved = resolve_config(owner_yaml=owner, repo_yaml=repo, commit_yaml=commit, override=override)

    config = resolved.config
    assert config.codecov.notify.after_n_builds == 2  # repo over owner
    assert config.codecov.notify.wait_for_ci is False  # commit adds beside it
    assert config.codecov.require_ci_to_pass is True  # site default kept
    assert config.comment and (config.comment.behavior, config.comment.layout) == ("new", "diff")
    assert config.ignore == ["b"]  # lists replace, not append
    assert resolved.data["codecov"]["notify"] == {"wait_for_ci": False, "after_n_builds": 2}


def test_an_invalid_layer_is_reported_and_skipped_not_fatal() -> None:
    resolved = resolve_config(owner_yaml={"comment": {"behavior": "loud"}}, repo_yaml={"ignore": ["x"]})
    assert [e.source for e in resolved.errors] == ["owner"]
    assert "behavior" in resolved.errors[0].message
    assert resolved.config.ignore == ["x"]
    assert resolved.config.comment and resolved.config.comment.behavior == "default"


def test_deep_merge_does_not_share_or_mutate_inputs() -> None:
    base = {"a": {"b": [1]}}
    override = {"a": {"c": {"d": 1}}}
    merged = deep_merge(base, override)
    merged["a"]["c"]["d"] = 2
    assert base == {"a": {"b": [1]}} and override == {"a": {"c": {"d": 1}}}
    assert SITE_DEFAULTS["coverage"]["status"]["project"] is True


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (b"coverage: [1\n", "invalid YAML"),
        (b"- a\n- b\n", "must be a mapping"),
        (b"codecov: {notify: {after_n_builds: -1}}", "after_n_builds"),
        (b"coverage: {status: {project: {default: {target: lots}}}}", "target"),
        (b"x: !!python/object/apply:os.system ['true']", "invalid YAML"),
    ],
)
def test_invalid_yaml_is_an_error_value(text: bytes, fragment: str) -> None:
    result = parse_yaml(text, source="commit:codecov.yml")
    assert isinstance(result, YamlError)
    assert result.source == "commit:codecov.yml"
    assert fragment in result.message


def test_an_empty_file_is_an_empty_config() -> None:
    assert parse_yaml(b"", source="t") == {}
    assert parse_yaml(b"# only a comment\n", source="t") == {}


def test_oversized_yaml_is_refused() -> None:
    result = parse_yaml(b"#" * (MAX_YAML_BYTES + 1), source="t")
    assert isinstance(result, YamlError) and "larger" in result.message


def test_alias_bomb_is_refused() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1}]" for i in range(1, 20)]
    result = parse_yaml("\n".join(lines).encode(), source="t")
    assert isinstance(result, YamlError) and "aliases" in result.message


def test_recursive_alias_is_refused() -> None:
    result = parse_yaml(b"a: &a [*a]\n", source="t")
    assert isinstance(result, YamlError)


def test_a_few_anchors_are_fine() -> None:
    text = b"base: &base {target: 80}\ncoverage: {status: {project: {default: *base}, patch: {default: *base}}}\n"
    config = resolve_config(commit_yaml=parse_yaml(text, source="t")).config
    assert config.coverage.status.contexts("patch")["default"].target == 80.0


def test_values_stay_json_plain() -> None:
    data = parse_yaml(b"released: 2024-01-01\nflag: on\n", source="t")
    assert data == {"released": "2024-01-01", "flag": True}


def test_validate_yaml_rejects_non_mappings() -> None:
    assert isinstance(validate_yaml(["a"], source="repo"), YamlError)
    assert validate_yaml({"comment": False}, source="repo") == {"comment": False}
