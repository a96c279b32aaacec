"""The faust App of a task type: settings that matter for how fast it notices broker changes."""

from __future__ import annotations

import asyncio

from stream_app.consumers import build_app
from stream_app.pipeline.context import Delivery
from stream_app.pipeline.dispatch import OrderedDispatcher
from stream_app.settings import Settings
from tests.support.probe import TASK


async def _process(delivery: Delivery) -> None:
    return None


async def test_consumer_metadata_is_refreshed_every_30_seconds() -> None:
    dispatcher = OrderedDispatcher(_process, max_in_flight=1)

    app = build_app(TASK, Settings(), dispatcher, asyncio.Event())

    # faust's default is 5 minutes: a topic created or grown meanwhile went unseen that long
    assert app.conf.consumer_metadata_max_age_ms == 30_000
