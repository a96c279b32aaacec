"""Which commit-status contexts apply, and what each should say (pure: no I/O).

A coverage config names its statuses per kind (`coverage.status.project`, `.patch`,
`.changes`); the unnamed one (`default`) posts as `codecov/<kind>`, a named one as
`codecov/<kind>/<name>`. Branch filters follow Codecov: each entry is a glob-ish regex
(`*` alone means any branch, `feature/*` means `^feature/.*$`, entries already anchored with
`^`/`$` are regexes), an entry starting with `!` excludes, and a list of only exclusions lets
every other branch through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

from stream_app.config import CoverageConfig, StatusConfig, StatusKind
from stream_app.providers.types import StatusInfo, StatusState

KINDS: tuple[StatusKind, ...] = get_args(StatusKind)
CONTEXT_PREFIX = "codecov/"
PENDING_DESCRIPTION = "Collecting reports and waiting for CI to complete"
CI_FAILED_DESCRIPTION = "Coverage not measured fully because CI failed"
MAX_DESCRIPTION = 140  # GitHub's limit: the client truncates, so comparisons truncate too
_LONE_ASTERISK = re.compile(r"(?<!\.)\*")


@dataclass(frozen=True)
class StatusContext:
    """One enabled status of the config: `name` is "default" for the kind's unnamed status."""

    kind: StatusKind
    name: str
    config: StatusConfig

    @property
    def context(self) -> str:
        return context_name(self.kind, self.name)


@dataclass(frozen=True)
class StatusUpdate:
    context: str
    state: StatusState
    description: str


def context_name(kind: StatusKind, name: str = "default") -> str:
    return f"{CONTEXT_PREFIX}{kind}" if name == "default" else f"{CONTEXT_PREFIX}{kind}/{name}"


def status_contexts(config: CoverageConfig) -> list[StatusContext]:
    """Every enabled status of the config, project first, then patch, then changes."""
    status = config.coverage.status
    return [StatusContext(kind, name, cfg) for kind in KINDS for name, cfg in status.contexts(kind).items()]


def branch_regex(pattern: str) -> str:
    """A user's branch entry as an anchored regex, the way Codecov reads it."""
    value = pattern.strip()
    if value in ("*", "", ".*"):
        return ".*"
    value = _LONE_ASTERISK.sub(".*", value)
    if not value.startswith((".*", "^")):
        value = "^" + value
    if not value.endswith((".*", "$")):
        value += "$"
    return value


def _matches(pattern: str, branch: str) -> bool:
    try:
        return re.match(branch_regex(pattern), branch) is not None
    except re.error:  # not a valid regex: only the literal name matches
        return pattern.strip() == branch


def branch_matches(patterns: Sequence[str] | None, branch: str | None) -> bool:
    """Whether `branch` passes the filter; no filter (None) lets every branch through."""
    if patterns is None:
        return True
    name = branch or ""
    if name in patterns:
        return True
    entries = [p for p in patterns if p]
    negatives = [p.lstrip("^").removeprefix("!") for p in entries if p.startswith(("!", "^!"))]
    positives = [p for p in entries if not p.startswith(("!", "^!"))]
    if any(_matches(p, name) for p in negatives):
        return False
    return not positives or any(_matches(p, name) for p in positives)


def wants_pulls_only(cfg: StatusConfig) -> bool:
    """`only_pulls`, or a status compared against the pull's base (`base: pr`), needs a pull."""
    extra = cfg.model_extra or {}
    return cfg.only_pulls or extra.get("base") == "pr"


def applies(ctx: StatusContext, *, branch: str | None, on_a_pull_request: bool) -> bool:
    """Whether the status may be set on a commit of `branch` (on a pull or not)."""
    if wants_pulls_only(ctx.config) and not on_a_pull_request:
        return False
    return branch_matches(ctx.config.branches, branch)


def ci_failed_state(cfg: StatusConfig) -> StatusState:
    """The state a status takes when CI failed: informational ones never block."""
    return "success" if cfg.informational else cfg.if_ci_failed


def newest_by_context(statuses: Iterable[StatusInfo]) -> dict[str, StatusInfo]:
    """The newest status per context, from a provider list given newest first."""
    newest: dict[str, StatusInfo] = {}
    for status in statuses:
        newest.setdefault(status.context, status)
    return newest


def ours(posted: Mapping[str, StatusInfo]) -> dict[str, StatusInfo]:
    return {context: status for context, status in posted.items() if context.startswith(CONTEXT_PREFIX)}


def already_says(status: StatusInfo | None, update: StatusUpdate) -> bool:
    """Whether the posted status already has the update's state and description."""
    if status is None:
        return False
    return status.state == update.state and (status.description or "") == update.description[:MAX_DESCRIPTION]


def pending_updates(
    config: CoverageConfig, *, branch: str | None, on_a_pull_request: bool, posted: Mapping[str, StatusInfo]
) -> list[StatusUpdate]:
    """`pending` for each applicable status with `set_pending` that was not posted yet."""
    return [
        StatusUpdate(ctx.context, "pending", PENDING_DESCRIPTION)
        for ctx in status_contexts(config)
        if ctx.config.set_pending
        and applies(ctx, branch=branch, on_a_pull_request=on_a_pull_request)
        and ctx.context not in posted
    ]


def error_updates(
    config: CoverageConfig, *, message: str | None, posted: Mapping[str, StatusInfo]
) -> list[StatusUpdate]:
    """The CI-failed state for each enabled status already posted, unless it already says so."""
    description = message or CI_FAILED_DESCRIPTION
    updates = [
        StatusUpdate(ctx.context, ci_failed_state(ctx.config), description)
        for ctx in status_contexts(config)
        if ctx.context in posted
    ]
    return [u for u in updates if not already_says(posted.get(u.context), u)]
