"""CLI wiring of the operator commands: replay, dlq list/redrive, status."""

from __future__ import annotations

import argparse
from typing import Any


def add_parsers(sub: Any) -> None:
    """Filled in with replay, dlq and status."""
    _ = argparse
