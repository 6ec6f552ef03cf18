"""The wait between attempts that other writers or a moving ref made fail: jittered, so that writers that
collided once do not collide again in step."""

from __future__ import annotations

import random
import time

_BACKOFF_FIRST_SECONDS = 0.05
_BACKOFF_CAP_SECONDS = 5.0


def back_off(retry: int) -> None:
    """Sleep before the `retry`-th retry: full jitter over an exponentially growing, capped window."""
    time.sleep(random.uniform(0, min(_BACKOFF_CAP_SECONDS, _BACKOFF_FIRST_SECONDS * 2 ** (retry - 1))))
