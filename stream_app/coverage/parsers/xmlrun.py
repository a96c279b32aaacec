"""The tight loop the XML parsers share: the run of <line> elements under one holder element."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from stream_app.coverage.linecov import Coverage, merge
from stream_app.coverage.parsers.base import SharedLines
from stream_app.coverage.parsers.xmlsafe import Element, drop_before

BATCH: Final = 256  # lines kept in the tree before the ones read are dropped

LineCoverage = Callable[[Element, SharedLines], tuple[int, Coverage]]


def read_line_run(
    events: Iterator[Element],
    holder: Element,
    lines: dict[int, Coverage],
    shared: SharedLines,
    pending: int,
    line_coverage: LineCoverage,
) -> tuple[Element | None, int]:
    """Read the <line> elements that follow in `holder` into `lines` (those of its file): the
    first element that is not one of them, and the count of lines not yet dropped."""
    for element in events:
        if element.tag != "line" or element.getparent() is not holder:
            return element, pending
        number, coverage = line_coverage(element, shared)
        if number > 0 and (known := lines.setdefault(number, coverage)) is not coverage:  # as FileCoverage.add
            lines[number] = merge(known, coverage)
        pending += 1
        if pending == BATCH:
            drop_before(element, holder)
            pending = 0
    return None, pending
