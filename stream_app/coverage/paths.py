"""Turn the paths a report states into repo paths: yaml `fixes`, the repo's file list, `ignore`.

Order, per path (Codecov's rules, simplified and deterministic):
1. normalise: `\\` -> `/`, drop a drive letter, leading `/` and `./`, collapse `//` and `a/../`;
2. `fixes`, in the order given: `"before::after"` replaces a leading `before` (globs: `*` one
   segment, `**` any depth) with `after`, the first matching rule only; `"prefix/::"` removes
   a prefix; `"::prefix/"` adds one (all add-rules apply, after the replacements);
3. with a repo file list: the path itself when listed, else the one listed file that ends with
   the longest matching tail of it (`/ci/build/src/a.py` -> `src/a.py`); a tail matched by
   several files resolves to one only when one of them equals the tail; no match: dropped;
4. `ignore` globs (`tests/**`, `**/*_pb2.py`, `docs/`; a pattern starting with `^` is a regex):
   a matching path is dropped.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Final

_DRIVE: Final = re.compile(r"^[A-Za-z]:/")


def normalize(path: str) -> str:
    path = _DRIVE.sub("", path.strip().replace("\\", "/"))
    path = posixpath.normpath("/" + path).lstrip("/")  # anchoring at "/" keeps `..` from escaping
    return "" if path == "." else path


def glob_to_regex(pattern: str) -> str:
    """`**/` any directories (or none), `**` anything, `*` within a segment, `?` one character."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    if pattern.startswith("^"):
        return re.compile(pattern)
    pattern = pattern.lstrip("/")
    suffix = ".*" if pattern.endswith("/") else "(?:/.*)?"  # a directory covers what is below it
    return re.compile(glob_to_regex(pattern) + suffix + r"\Z")


def _fix_rules(fixes: Sequence[str]) -> tuple[list[tuple[re.Pattern[str], str]], list[str]]:
    replace: list[tuple[re.Pattern[str], str]] = []
    prefixes: list[str] = []
    for fix in fixes:
        before, sep, after = fix.partition("::")
        if not sep:
            continue
        before = before.strip().lstrip("/")
        if not before:
            prefixes.append(after.strip().strip("/"))
        else:
            regex = glob_to_regex(before.rstrip("/")).replace("[^/]*", "[^/]+")
            tail = "/" if before.endswith("/") else ""
            replace.append((re.compile(regex + tail), after.strip()))
    return replace, [p for p in prefixes if p]


class PathResolver:
    """Callable: report path -> repo path, or None when the file is dropped."""

    def __init__(
        self, *, repo_files: Iterable[str] | None = None, fixes: Sequence[str] = (), ignore: Sequence[str] = ()
    ) -> None:
        self._replace, self._prefixes = _fix_rules(fixes)
        self._ignore = [_ignore_regex(p) for p in ignore if p.strip()]
        self._files: set[str] | None = None
        self._by_name: defaultdict[str, list[str]] = defaultdict(list)
        if repo_files is not None:
            self._files = {normalize(f) for f in repo_files if normalize(f)}
            for file in self._files:
                self._by_name[file.rsplit("/", 1)[-1]].append(file)
        self.resolve = lru_cache(maxsize=65536)(self._resolve)

    def __call__(self, path: str) -> str | None:
        return self.resolve(path)

    def apply_fixes(self, path: str) -> str:
        for regex, after in self._replace:
            if (match := regex.match(path)) is not None:
                path = after + path[match.end() :]
                break
        for prefix in self._prefixes:
            path = f"{prefix}/{path}"
        return normalize(path)

    def _in_repo(self, path: str) -> str | None:
        if self._files is None or path in self._files:
            return path
        parts = path.split("/")
        candidates = self._by_name.get(parts[-1], [])
        for size in range(len(parts), 0, -1):
            tail = "/".join(parts[-size:])
            found = [c for c in candidates if c == tail or c.endswith("/" + tail)]
            if len(found) == 1:
                return found[0]
            if found:
                return tail if tail in found else None
        return None

    def _resolve(self, path: str) -> str | None:
        fixed = self.apply_fixes(normalize(path))
        resolved = self._in_repo(fixed) if fixed else None
        if resolved is None or any(r.match(resolved) for r in self._ignore):
            return None
        return resolved
