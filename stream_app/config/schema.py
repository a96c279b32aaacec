"""The coverage config (codecov.yml) keys tasks read, validated; other keys pass through untouched."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

StatusKind = Literal["project", "patch", "changes"]
Outcome = Literal["success", "failure", "error"]


def _percent(value: Any) -> Any:
    """`80`, `80.5`, `"80%"` and `"80"` all mean 80 percent."""
    if isinstance(value, str) and value.strip() != "auto":
        return float(value.strip().rstrip("%"))
    return value


Percent = Annotated[float, BeforeValidator(_percent)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class StatusConfig(_Section):
    target: Literal["auto"] | Percent = "auto"
    threshold: Percent = 0.0
    informational: bool = False
    if_not_found: Outcome = "success"
    if_ci_failed: Outcome = "error"
    only_pulls: bool = False
    branches: list[str] | None = None
    set_pending: bool = True
    flags: list[str] | None = None
    paths: list[str] | None = None


STATUS_FIELDS = frozenset(StatusConfig.model_fields) | {"base", "removed_code_behavior"}
StatusGroup = bool | dict[str, StatusConfig | bool]


def _status_group(value: Any) -> Any:
    """`project: {target: 80}` is shorthand for `project: {default: {target: 80}}`; null means on."""
    if value is None:
        return True
    if isinstance(value, dict) and value and set(value) <= STATUS_FIELDS:
        return {"default": value}
    return value


class StatusSection(_Section):
    project: Annotated[StatusGroup, BeforeValidator(_status_group)] = True
    patch: Annotated[StatusGroup, BeforeValidator(_status_group)] = True
    changes: Annotated[StatusGroup, BeforeValidator(_status_group)] = False

    def contexts(self, kind: StatusKind) -> dict[str, StatusConfig]:
        """The enabled statuses of one kind by name (`default` for the unnamed one)."""
        group: StatusGroup = getattr(self, kind)
        if isinstance(group, bool):
            return {"default": StatusConfig()} if group else {}
        return {name: StatusConfig() if cfg is True else cfg for name, cfg in group.items() if cfg is not False}


def _status_section(value: Any) -> Any:
    if value is False:
        return {"project": False, "patch": False, "changes": False}
    return {} if value is None or value is True else value


class CoverageSection(_Section):
    precision: int = Field(default=2, ge=0, le=5)
    round: Literal["down", "up", "nearest"] = "down"
    status: Annotated[StatusSection, BeforeValidator(_status_section)] = StatusSection()


class CommentConfig(_Section):
    layout: str = "reach,diff,flags,files,footer"
    behavior: Literal["default", "once", "new", "spammy"] = "default"
    require_changes: bool = False
    require_base: bool = False
    require_head: bool = True

    @property
    def sections(self) -> list[str]:
        return [part.strip() for part in self.layout.split(",") if part.strip()]


class NotifySection(_Section):
    wait_for_ci: bool = True
    after_n_builds: int | None = Field(default=None, ge=0)


class CodecovSection(_Section):
    require_ci_to_pass: bool = True
    notify: NotifySection = NotifySection()


class FlagConfig(_Section):
    paths: list[str] | None = None
    carryforward: bool = False
    after_n_builds: int | None = Field(default=None, ge=0)


class CoverageConfig(_Section):
    codecov: CodecovSection = CodecovSection()
    coverage: CoverageSection = CoverageSection()
    comment: CommentConfig | Literal[False] = CommentConfig()
    fixes: list[str] = []
    ignore: list[str] = []
    flags: dict[str, FlagConfig] = {}

    @field_validator("codecov", "coverage", "flags", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("comment", mode="before")
    @classmethod
    def _comment_on(cls, value: Any) -> Any:
        return {} if value is None or value is True else value

    @field_validator("fixes", "ignore", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value
