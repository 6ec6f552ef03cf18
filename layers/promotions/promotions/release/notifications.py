"""Whoever is told of status changes (events on the bus, delivery metrics), fed by the release store.

The release is read once per change, after it is stored, and handed to each watcher. A watcher's failure is
logged and goes no further: the change is stored, and the task that made it goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from aws_lambda_powertools import Logger

from promotions.release.model import Release
from promotions.release.status_changes import EnvironmentStatusChange, StatusChange

logger = Logger(child=True)


class Watcher(Protocol):
    def notice(self, change: StatusChange, release: Release) -> None:
        """`release` as read after `change` was stored."""


class Notifications:
    """A StatusObserver of the release store."""

    def __init__(self, read: Callable[[str], Release], watchers: Sequence[Watcher]) -> None:
        self._read = read
        self._watchers = watchers

    def status_changed(self, change: StatusChange) -> None:
        try:
            release = self._read(change.release_id)
        except Exception:
            logger.exception("release not read after a status change", extra=_described(change))
            return
        for watcher in self._watchers:
            try:
                watcher.notice(change, release)
            except Exception:
                logger.exception(
                    "status change not told", extra={**_described(change), "watcher": type(watcher).__name__}
                )


def _described(change: StatusChange) -> dict[str, str]:
    described = {"release": change.release_id, "status": change.status.value}
    if isinstance(change, EnvironmentStatusChange):
        described["environment"] = change.environment
    return described
