"""An environment moves forward only: the promotion commits a release writes say where they came from (trailers),
and a release whose source is older than the one the environment's last promotion came from is superseded.

Both questions are answered from recent history fetched without files: the environment's branch, for its last
promotion; the release's source branch, for which of two sources is older.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dulwich.objects import Commit

from promotions.git import GitRemote, History, trailers_of
from promotions.release.model import SourceRevision

RELEASE_TRAILER = "Promotion-Release"
PRODUCT_TRAILER = "Promotion-Product"
ENVIRONMENT_TRAILER = "Promotion-Environment"
SOURCE_TRAILER = "Promotion-Source"
# On a rollback's commit: the release whose properties it restores.
ROLLBACK_TRAILER = "Promotion-Rollback-Of"

# How many of a branch's latest commits are searched for the environment's last promotion; and how many of the
# source branch's, for the order of two sources. Commits without files: a few hundred bytes each.
BRANCH_HISTORY_DEPTH = 256
SOURCE_HISTORY_DEPTH = 256


@dataclass(frozen=True)
class PromotionRecord:
    """A promotion commit on an environment's branch, as its trailers describe it."""

    commit: str
    message: str
    release_id: str
    source_repo_url: str
    source_commit: str

    @classmethod
    def of(cls, commit: Commit, product: str, environment: str) -> PromotionRecord | None:
        """The record `commit` is of a promotion of `product` into `environment`; None if it is not one."""
        trailers = trailers_of(commit.message)
        if trailers.get(PRODUCT_TRAILER) != product or trailers.get(ENVIRONMENT_TRAILER) != environment:
            return None
        repo_url, at, source_commit = trailers.get(SOURCE_TRAILER, "").rpartition("@")
        release_id = trailers.get(RELEASE_TRAILER)
        if not (release_id and at and source_commit):
            return None
        return cls(
            commit.id.decode(), commit.message.decode(errors="replace"), release_id, repo_url, source_commit
        )


def source_trailer(source: SourceRevision) -> str:
    return f"{source.repo_url}@{source.commit}"


def last_promotion(remote: GitRemote, branch: str, product: str, environment: str) -> PromotionRecord | None:
    """The newest promotion of `product` into `environment` among the branch's last BRANCH_HISTORY_DEPTH commits."""
    for commit in remote.history(branch, BRANCH_HISTORY_DEPTH).commits():
        record = PromotionRecord.of(commit, product, environment)
        if record is not None:
            return record
    return None


class Superseded(Exception):
    """The environment's last promotion came from a newer source than this release's: nothing is written."""

    def __init__(self, record: PromotionRecord, where: str, source: SourceRevision) -> None:
        super().__init__(
            f"superseded by {record.release_id}: its promotion {record.commit[:12]} on {where} came from "
            f"{record.source_commit[:12]}, newer than this release's source {source.commit[:12]}"
        )
        self.record = record


class SourceOrder:
    """Whether a source an environment's promotion recorded is newer than the release's own.

    Decided in the history of the release's source branch: the recorded source is newer when the release's
    source is in its history. When that history runs past the depth fetched before reaching the release's
    source, the position on the branch decides: a recorded source among the branch's latest commits is newer
    than a release source that is not (further back, or no longer on the branch). Commit dates are not used:
    rebases and clocks make them lie. A recorded source outside that window, or of another repository, is not
    a newer push of this branch. The history is fetched once, and again when a record names a commit it does
    not hold (the branch moved on since)."""

    def __init__(self, remotes: Callable[[str], GitRemote], source: SourceRevision) -> None:
        self._remotes = remotes
        self._source = source
        self._history: History | None = None
        self._decided: dict[str, bool] = {}

    def is_newer(self, record: PromotionRecord) -> bool:
        recorded = record.source_commit
        if record.source_repo_url != self._source.repo_url or recorded == self._source.commit:
            return False
        if recorded not in self._decided:
            self._decided[recorded] = self._decide(recorded)
        return self._decided[recorded]

    def _decide(self, recorded: str) -> bool:
        if self._history is None or recorded not in self._history:
            self._history = self._remotes(self._source.repo_url).history(
                self._source.branch, SOURCE_HISTORY_DEPTH
            )
        if recorded not in self._history:
            return False
        reached = self._history.reaches(recorded, self._source.commit)
        if reached is not None:
            return reached
        return self._source.commit not in self._history
