"""CLI wiring of the operator commands: replay, dlq list/redrive, status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from stream_app.ops.kafka_admin import OpsError
from stream_app.settings import Settings
from stream_app.tasks import UnknownTask


def _write(lines: Iterable[str]) -> None:
    sys.stdout.write("".join(f"{line}\n" for line in lines))


Body = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def _command(body: Body) -> Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]:
    async def run(ns: argparse.Namespace, settings: Settings) -> int:
        try:
            return await body(ns, settings)
        except (OpsError, UnknownTask) as exc:  # the contract's one-line error, exit status 1
            raise SystemExit(f"error: {exc}") from None

    return run


@_command
async def _replay(ns: argparse.Namespace, settings: Settings) -> int:
    from stream_app.ops.replay import ResetSpec, parse_datetime_ms, replay

    if ns.to_datetime is not None:
        spec = ResetSpec("datetime", parse_datetime_ms(ns.to_datetime))
    elif ns.to_offset is not None:
        spec = ResetSpec("offset", ns.to_offset)
    elif ns.shift_by is not None:
        spec = ResetSpec("shift", ns.shift_by)
    else:
        spec = ResetSpec("earliest")
    _write((await replay(settings, ns.task, spec, dry_run=ns.dry_run)).lines())
    return 0


@_command
async def _dlq_list(ns: argparse.Namespace, settings: Settings) -> int:
    from stream_app.ops.deadletters import HEADER, dlq_list

    letters, total = await dlq_list(settings, ns.task, limit=ns.limit)
    _write([HEADER, *(d.line() for d in letters), f"{len(letters)} of {total} dead letters shown"])
    return 0


@_command
async def _dlq_redrive(ns: argparse.Namespace, settings: Settings) -> int:
    from stream_app.ops.deadletters import dlq_redrive

    _write([f"{await dlq_redrive(settings, ns.task)} dead letters redriven"])
    return 0


@_command
async def _status(ns: argparse.Namespace, settings: Settings) -> int:
    from stream_app.ops.status import status, table

    _write(table(await status(settings)))
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("replay", help="reset a task's consumer-group offsets (its workers must be stopped)")
    p.add_argument("task", help="full or short task name")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--to-datetime", metavar="ISO", help="first offset at/after this instant (UTC if no zone)")
    how.add_argument("--to-offset", type=int, metavar="N", help="this offset on every partition (clamped)")
    how.add_argument("--shift-by", type=int, metavar="N", help="move the committed offsets by N (may be negative)")
    how.add_argument("--to-earliest", action="store_true", help="the first offset still kept")
    p.add_argument("--dry-run", action="store_true", help="show the new offsets, change nothing")
    p.set_defaults(run=_replay)

    dlq = sub.add_parser("dlq", help="dead letters: list them, or re-publish them to the task topic")
    actions = dlq.add_subparsers(dest="action", required=True)
    p = actions.add_parser("list", help="show dead letters with their reasons")
    p.add_argument("task", help="full or short task name")
    p.add_argument("--limit", type=int, metavar="N", help="show at most N")
    p.set_defaults(run=_dlq_list)
    p = actions.add_parser("redrive", help="re-publish the dead letters not redriven yet to the task topic")
    p.add_argument("task", help="full or short task name")
    p.set_defaults(run=_dlq_redrive)

    p = sub.add_parser("status", help="per task: partitions, committed and end offsets, lag, dead letters")
    p.set_defaults(run=_status)
