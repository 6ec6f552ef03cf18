"""The promotion configuration, read from its Git repository at a pinned revision.

A release pins the revision it started with, so editing the configuration mid-release never changes a
running release. A revision that does not validate is reported and the last good one stays in force.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools import Logger

from promotions.config.configuration import Configuration
from promotions.config.errors import ConfigError, NoValidConfiguration
from promotions.config.loader import load_configuration

if TYPE_CHECKING:
    # Types only: importing the Git engine is left to the remote's maker, at first use.
    from promotions.git import GitRemote, Snapshot

logger = Logger(child=True)

_CACHED_REVISIONS = 8


class GoodRevisions(Protocol):
    """Where the last revision that validated is remembered, per configuration source (the release store)."""

    def remember_good_config(self, source: str, revision: str) -> None: ...

    def last_good_config(self, source: str) -> str | None: ...


class ConfigRepository:
    def __init__(self, remote: GitRemote, branch: str, folder: str, store: GoodRevisions) -> None:
        self._remote = remote
        self._branch = branch
        self._folder = folder.strip("/")
        self._store = store
        self._key = f"{remote.url}#{branch}:{self._folder}"
        self._cache: OrderedDict[str, Configuration] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self) -> tuple[str, Configuration]:
        """The newest valid configuration: the branch tip, or the last good revision if the tip is broken."""
        snapshot = self._remote.snapshot(self._branch, paths=[self._folder] if self._folder else None)
        try:
            configuration = self._cached(snapshot.commit_sha) or self._load(snapshot)
        except ConfigError as error:
            last_good = self._store.last_good_config(self._key)
            logger.error(
                "configuration revision is invalid; keeping the last good one",
                extra={
                    "revision": snapshot.commit_sha,
                    "last_good": last_good,
                    "problems": [str(p) for p in error.problems],
                },
            )
            if last_good is None:
                raise NoValidConfiguration(
                    f"configuration at {snapshot.commit_sha} is invalid and no earlier revision was valid:\n{error}"
                ) from error
            return last_good, self.at(last_good)
        self._store.remember_good_config(self._key, snapshot.commit_sha)
        return snapshot.commit_sha, configuration

    def at(self, revision: str) -> Configuration:
        return self._cached(revision) or self._load(
            self._remote.snapshot(revision, paths=[self._folder] if self._folder else None)
        )

    def _cached(self, revision: str) -> Configuration | None:
        """The configuration parsed at `revision` before (only a valid one is kept), if still cached."""
        with self._lock:
            if revision in self._cache:
                self._cache.move_to_end(revision)
                return self._cache[revision]
        return None

    def _load(self, snapshot: Snapshot) -> Configuration:
        prefix = f"{self._folder}/" if self._folder else ""
        files = {
            path.removeprefix(prefix): snapshot.read(path)
            for path in snapshot.list_files(self._folder)
            if path.endswith((".yaml", ".yml"))
        }
        configuration = load_configuration(
            {path: content for path, content in files.items() if content is not None}
        )
        with self._lock:
            self._cache[snapshot.commit_sha] = configuration
            while len(self._cache) > _CACHED_REVISIONS:
                self._cache.popitem(last=False)
        return configuration
