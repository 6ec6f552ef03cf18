"""What the release store tells whoever watches it: a release or one of its environments moved to another status.

The store is the one place every status write goes through (the engine, approvals, termination, the
concurrency policy, a retry), so it is where a change is decided: a write that lands and finds another status
than the one it wrote. Watchers see each change once, after it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from promotions.release.status import EnvironmentStatus, ReleaseStatus


@dataclass(frozen=True)
class ReleaseStatusChange:
    release_id: str
    status: ReleaseStatus
    # None when the release was just created.
    previous: ReleaseStatus | None
    at: datetime


@dataclass(frozen=True)
class EnvironmentStatusChange:
    release_id: str
    environment: str
    status: EnvironmentStatus
    previous: EnvironmentStatus
    at: datetime


StatusChange = ReleaseStatusChange | EnvironmentStatusChange


class StatusObserver(Protocol):
    def status_changed(self, change: StatusChange) -> None:
        """Called after the change is stored. It must not raise: the change happened whatever it does."""
