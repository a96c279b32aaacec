"""The `stream-app` command line (contract section 4). Exit 0 on success, else a one-line error."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from stream_app.settings import Settings, get_settings
from stream_app.tasks import resolve

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


async def _worker(ns: argparse.Namespace, settings: Settings) -> int:
    from stream_app.agents import HANDLERS
    from stream_app.worker import Worker

    names = [resolve(t) for t in ns.tasks.split(",")] if ns.tasks else list(HANDLERS)
    missing = [n for n in names if n not in HANDLERS]
    if missing:
        raise SystemExit(f"error: no agent is built yet for {', '.join(missing)}")
    from stream_app.ops.kafka_admin import OpsError

    worker = Worker(settings, {n: HANDLERS[n] for n in names})
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also ends a start still waiting for Kafka
        loop.add_signal_handler(sig, worker.request_stop)
    try:
        if await worker.start():
            logging.getLogger("stream_app").info("worker up: %s", ", ".join(names))
            await worker.stop_requested.wait()
    except OpsError as exc:  # e.g. its topics do not exist
        raise SystemExit(f"error: {exc}") from None
    finally:
        await worker.stop()
    return 0


async def _send(ns: argparse.Namespace, settings: Settings) -> int:
    from stream_app.client import TaskProducer

    try:
        args = json.loads(ns.args)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"error: JSON-ARGS is not JSON: {exc}") from None
    if not isinstance(args, dict):
        raise SystemExit("error: JSON-ARGS must be a JSON object")
    async with TaskProducer(settings.kafka_bootstrap, topic_prefix=settings.topic_prefix, producer_id="cli") as p:
        record_id = await p.send(ns.task, key=ns.key, version=ns.version, **args)
    print(record_id)
    return 0


async def _topics(ns: argparse.Namespace, settings: Settings) -> int:
    from stream_app.ops.kafka_admin import OpsError
    from stream_app.ops.topics import ensure_topics, mismatch_error

    try:
        report = await ensure_topics(settings, replication=ns.replication_factor)
    except OpsError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"{len(report.created)} topics created, {len(report.existing)} already existed", flush=True)
    if report.mismatched:
        raise SystemExit(mismatch_error(settings, report.mismatched))
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


async def _db(ns: argparse.Namespace, settings: Settings) -> int:
    from stream_app.dbmigrate import upgrade

    await asyncio.to_thread(upgrade, settings.database_url)
    print("database is at the newest migration")
    return 0


async def _schema(ns: argparse.Namespace, settings: Settings) -> int:
    from stream_app.schema import write_schemas

    written = write_schemas(Path(ns.out))
    print(f"{len(written)} schemas written to {ns.out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stream-app", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("worker", help="run the consumer service")
    p.add_argument("--tasks", help="comma-separated task names (full or short); default: every built task")
    p.add_argument("--loglevel", default="info")
    p.set_defaults(run=_worker)
    p = sub.add_parser("send", help="validate and produce one record")
    p.add_argument("task")
    p.add_argument("args", metavar="JSON-ARGS")
    p.add_argument("--version", type=int)
    p.add_argument("--key")
    p.set_defaults(run=_send)
    p = sub.add_parser("topics", help="topic administration")
    p.add_argument("action", choices=["create"])
    p.add_argument(
        "--replication-factor", type=_positive, default=1, metavar="N", help="replicas of each new topic (default 1)"
    )
    p.set_defaults(run=_topics)
    p = sub.add_parser("db", help="database migrations")
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(run=_db)
    p = sub.add_parser("schema", help="write the JSON Schema of every task version")
    p.add_argument("--out", default="schemas")
    p.set_defaults(run=_schema)
    from stream_app.ops import commands

    commands.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    level = ns.loglevel.upper() if ns.command == "worker" else "WARNING"
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if level != "DEBUG":  # faust, mode and aiokafka narrate every start-up step at INFO
        for noisy in ("faust", "mode", "aiokafka"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(asyncio.run(ns.run(ns, get_settings())))
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 1
        raise
    except Exception as exc:  # the contract: one line on stderr, non-zero exit
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
