"""Find and read a repo's coverage config file at a ref through the provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stream_app.config.merge import YamlError, parse_yaml
from stream_app.providers.base import Provider
from stream_app.providers.errors import ProviderNotFound
from stream_app.providers.types import RepoRef

FILE_NAMES = ("codecov.yml", ".codecov.yml", "codecov.yaml", ".codecov.yaml")
DIRECTORIES = ("", "dev", ".github")  # searched in this order; the first file found wins


@dataclass(frozen=True)
class CommitYaml:
    """The config file found at a ref: `path` None when there is none (defaults apply)."""

    path: str | None = None
    data: dict[str, Any] | None = None
    error: YamlError | None = None


def _pick(names: set[str], directory: str) -> str | None:
    for name in FILE_NAMES:
        path = f"{directory}/{name}" if directory else name
        if path in names:
            return path
    return None


async def find_yaml_path(provider: Provider, repo: RepoRef, *, ref: str) -> str | None:
    """The config file's path at `ref`: listing the root first, then only the directories that exist."""
    try:
        root = await provider.list_top_level_files(repo, ref=ref)
    except ProviderNotFound:  # an empty repo, or a ref that is gone
        return None
    found = _pick({e.path for e in root if e.kind == "file"}, "")
    dirs = {e.path for e in root if e.kind == "dir"}
    for directory in DIRECTORIES[1:]:
        if found is not None:
            break
        if directory in dirs:
            entries = await provider.list_directory(repo, directory, ref=ref)
            found = _pick({e.path for e in entries if e.kind == "file"}, directory)
    return found


async def fetch_commit_yaml(provider: Provider, repo: RepoRef, *, ref: str) -> CommitYaml:
    """The parsed config at `ref`. A broken file is reported in `error`, not raised.

    Transient provider failures (`ProviderRateLimited`, `ProviderServerError`) propagate.
    """
    path = await find_yaml_path(provider, repo, ref=ref)
    if path is None:
        return CommitYaml()
    content = await provider.get_file(repo, path, ref=ref)
    if content is None:
        return CommitYaml()
    parsed = parse_yaml(content, source=f"commit:{path}")
    if isinstance(parsed, YamlError):
        return CommitYaml(path, None, parsed)
    return CommitYaml(path, parsed, None)
