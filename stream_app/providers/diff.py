"""Unified-diff hunks to changed line numbers: what patch (diff) coverage needs from a compare."""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def changed_lines(patch: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(head lines added or changed, base lines removed or changed) of one file's hunks.

    Lines outside hunks (`diff --git`, `---`/`+++` headers, `\\ No newline`) are skipped.
    """
    added: list[int] = []
    removed: list[int] = []
    base_line = head_line = 0
    in_hunk = False
    for line in patch.splitlines():
        match = _HUNK.match(line)
        if match:
            base_line, head_line = int(match.group(1)), int(match.group(3))
            in_hunk = True
            continue
        if not in_hunk or line.startswith("\\"):
            continue
        if line.startswith("+"):
            added.append(head_line)
            head_line += 1
        elif line.startswith("-"):
            removed.append(base_line)
            base_line += 1
        elif line.startswith(" ") or line == "":
            base_line += 1
            head_line += 1
        else:
            in_hunk = False  # the next file's header in a multi-file diff
    return tuple(added), tuple(removed)
