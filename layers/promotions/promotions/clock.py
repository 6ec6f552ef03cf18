"""The engine's notion of now.

Soak times and deployment windows compare against this clock. On AWS it is the system clock; the local
runtime fast-forwards Step Functions Wait states and moves this clock by the same amount, so a one-hour
soak passes in an instant and still reads as one hour to every check.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_skipped = timedelta()


def now() -> datetime:
    with _lock:
        return datetime.now(UTC) + _skipped


def fast_forward(seconds: float) -> None:
    global _skipped
    with _lock:
        _skipped += timedelta(seconds=seconds)
