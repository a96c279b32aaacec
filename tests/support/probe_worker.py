"""A worker process running the probe handler, configured by STREAM_APP_* variables.

Run as `python -m tests.support.probe_worker`; SIGTERM stops it cleanly, SIGKILL does not.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from stream_app.settings import Settings
from stream_app.worker import Worker
from tests.support.probe import TASK, probe


async def main() -> None:
    worker = Worker(Settings(), {TASK: probe})
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await worker.start()
    print("probe worker started", flush=True)
    await stop.wait()
    await worker.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
