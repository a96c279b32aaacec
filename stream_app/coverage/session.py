"""A session: one upload's place in a commit's report, with its flags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    flags: tuple[str, ...] = ()
    name: str | None = None
    provider: str | None = None
    build: str | None = None
    build_url: str | None = None
    job: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    def has_any_flag(self, flags: Iterable[str]) -> bool:
        return not set(self.flags).isdisjoint(flags)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "flags": list(self.flags)}
        for key in ("name", "provider", "build", "build_url", "job"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.extra:
            data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        return cls(
            id=int(data["id"]),
            flags=tuple(str(f) for f in data.get("flags", ())),
            name=data.get("name"),
            provider=data.get("provider"),
            build=data.get("build"),
            build_url=data.get("build_url"),
            job=data.get("job"),
            extra=tuple(sorted((str(k), str(v)) for k, v in (data.get("extra") or {}).items())),
        )
