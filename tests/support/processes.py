"""Worker subprocesses for crash and scale-out tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from stream_app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"STREAM_APP_{name.upper()}"] = str(value)
    env.update(extra)
    return env


def start_probe_worker(settings: Settings, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.probe_worker"],
            cwd=ROOT,
            env=settings_env(settings, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout=timeout)
