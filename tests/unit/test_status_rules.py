"""Which commit statuses apply and what they should say: pure rules, no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from stream_app.config import CoverageConfig, resolve_config
from stream_app.providers.types import StatusInfo, StatusState
from stream_app.services import status_rules as rules
from stream_app.services.status_rules import (
    CI_FAILED_DESCRIPTION,
    PENDING_DESCRIPTION,
    StatusUpdate,
)


def config(status: Any = None) -> CoverageConfig:
    layer = None if status is None else {"coverage": {"status": status}}
    resolved = resolve_config(repo_yaml=layer)
    assert not resolved.errors, resolved.errors
    return resolved.config


def posted(*items: tuple[str, StatusState, str]) -> dict[str, StatusInfo]:
    return {context: StatusInfo(context, state, description, None) for context, state, description in items}


def pending(cfg: CoverageConfig, *, branch: str | None = "main", pull: bool = False, **kw: Any) -> list[str]:
    updates = rules.pending_updates(cfg, branch=branch, on_a_pull_request=pull, posted=kw.get("posted", {}))
    assert all(u.state == "pending" and u.description == PENDING_DESCRIPTION for u in updates)
    return [u.context for u in updates]


# Naming and defaults


def test_context_names_follow_codecov() -> None:
    assert rules.context_name("project") == "codecov/project"
    assert rules.context_name("patch", "default") == "codecov/patch"
    assert rules.context_name("project", "backend") == "codecov/project/backend"


def test_defaults_enable_project_and_patch_only() -> None:
    assert [c.context for c in rules.status_contexts(config())] == ["codecov/project", "codecov/patch"]


def test_named_statuses_per_kind_and_disabled_ones_left_out() -> None:
    cfg = config(
        {
            "project": {"default": False, "backend": {"target": 80}, "frontend": True},
            "patch": False,
            "changes": True,
        }
    )
    assert [c.context for c in rules.status_contexts(cfg)] == [
        "codecov/project/backend",
        "codecov/project/frontend",
        "codecov/changes",
    ]


def test_shorthand_settings_apply_to_the_default_status() -> None:
    (project, _patch) = rules.status_contexts(config({"project": {"target": 70, "informational": True}}))
    assert (project.name, project.config.informational) == ("default", True)


def test_status_false_disables_everything() -> None:
    assert rules.status_contexts(config(False)) == []


# Branch filters


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        ("*", ".*"),
        ("", ".*"),
        ("main", "^main$"),
        ("feature/*", "^feature/.*"),
        ("^release-.*", "^release-.*"),
        ("rc-\\d+$", "^rc-\\d+$"),
        (".*-hotfix", ".*-hotfix$"),
    ],
)
def test_branch_patterns_become_anchored_regexes(pattern: str, regex: str) -> None:
    assert rules.branch_regex(pattern) == regex


@pytest.mark.parametrize(
    ("patterns", "branch", "expected"),
    [
        (None, "anything", True),
        (None, None, True),
        (["main"], "main", True),
        (["main"], "mainline", False),
        (["main"], None, False),
        (["feature/*"], "feature/login", True),
        (["feature/*"], "fix/feature/x", False),
        (["^release-\\d+$"], "release-12", True),
        (["^release-\\d+$"], "release-x", False),
        (["!main"], "dev", True),  # only exclusions: every other branch passes
        (["!main"], "main", False),
        (["!wip/*", "*"], "wip/x", False),
        (["!wip/*", "*"], "dev", True),
        (["dev", "main"], "main", True),
        (["[unclosed"], "[unclosed", True),  # an invalid regex still matches its literal name
        (["[unclosed"], "main", False),
    ],
)
def test_branch_matches(patterns: list[str] | None, branch: str | None, expected: bool) -> None:
    assert rules.branch_matches(patterns, branch) is expected


# SetPending


def test_pending_on_every_default_status_not_posted_yet() -> None:
    assert pending(config()) == ["codecov/project", "codecov/patch"]


def test_pending_skips_statuses_already_posted_whatever_their_state() -> None:
    already = posted(("codecov/project", "success", "80% (+1%)"))
    assert pending(config(), posted=already) == ["codecov/patch"]


def test_pending_respects_the_branch_filter() -> None:
    cfg = config({"project": {"default": {"branches": ["main"]}, "dev": {"branches": ["dev*"]}}, "patch": False})
    assert pending(cfg, branch="main") == ["codecov/project"]
    assert pending(cfg, branch="develop") == ["codecov/project/dev"]
    assert pending(cfg, branch=None) == []


def test_pending_respects_only_pulls_and_base_pr() -> None:
    cfg = config({"project": {"only_pulls": True}, "patch": {"base": "pr"}})
    assert pending(cfg, pull=False) == []
    assert pending(cfg, pull=True) == ["codecov/project", "codecov/patch"]


def test_pending_skips_statuses_with_set_pending_false() -> None:
    cfg = config({"project": {"set_pending": False}, "patch": True})
    assert pending(cfg) == ["codecov/patch"]


# SetError


def test_error_only_on_statuses_already_posted() -> None:
    already = posted(("codecov/project", "pending", PENDING_DESCRIPTION), ("ci/build", "failure", "broke"))
    assert rules.error_updates(config(), message=None, posted=already) == [
        StatusUpdate("codecov/project", "error", CI_FAILED_DESCRIPTION)
    ]


def test_error_state_follows_informational_then_if_ci_failed() -> None:
    cfg = config(
        {
            "project": {
                "default": {"informational": True, "if_ci_failed": "failure"},
                "api": {"if_ci_failed": "failure"},
            },
            "patch": True,
        }
    )
    already = posted(
        *((c, "pending", PENDING_DESCRIPTION) for c in ("codecov/project", "codecov/project/api", "codecov/patch"))
    )
    updates = rules.error_updates(cfg, message="CI broke", posted=already)
    assert [(u.context, u.state, u.description) for u in updates] == [
        ("codecov/project", "success", "CI broke"),
        ("codecov/project/api", "failure", "CI broke"),
        ("codecov/patch", "error", "CI broke"),
    ]


def test_error_leaves_statuses_that_already_say_it() -> None:
    already = posted(("codecov/project", "error", CI_FAILED_DESCRIPTION), ("codecov/patch", "error", "older message"))
    updates = rules.error_updates(config(), message=None, posted=already)
    assert [u.context for u in updates] == ["codecov/patch"]


def test_a_long_message_matches_its_truncated_posted_form() -> None:
    message = "x" * 200
    already = posted(("codecov/project", "error", message[: rules.MAX_DESCRIPTION]))
    assert rules.error_updates(config({"patch": False}), message=message, posted=already) == []


def test_error_ignores_statuses_of_disabled_contexts() -> None:
    already = posted(("codecov/changes", "pending", PENDING_DESCRIPTION))
    assert rules.error_updates(config(), message=None, posted=already) == []


# Provider lists


def test_newest_by_context_keeps_the_first_of_a_newest_first_list() -> None:
    statuses = [
        StatusInfo("codecov/project", "error", "new", None),
        StatusInfo("ci", "success", None, None),
        StatusInfo("codecov/project", "pending", "old", None),
    ]
    newest = rules.newest_by_context(statuses)
    assert newest["codecov/project"].description == "new"
    assert list(rules.ours(newest)) == ["codecov/project"]
