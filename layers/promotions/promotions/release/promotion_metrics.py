"""Delivery metrics, measured at the moment a status change shows them, by whichever function made the change:
promotion lead time and duration when an environment succeeds, approval wait when people decided (or the
approval timed out), a failure when an environment fails. Dimensions: product and environment; a failure is
also counted by its kind (`reason`).

Lead time runs from the release's creation: a release records its trigger commit but not the commit's time, and
the push's arrival (or the API request) is where the engine first sees the change.
"""

from __future__ import annotations

from typing import Protocol

from promotions.release.approval_store import ApprovalStore
from promotions.release.model import Release
from promotions.release.status import EnvironmentStatus
from promotions.release.status_changes import EnvironmentStatusChange, StatusChange

# The kind a failure is counted under when the environment's record names none.
UNKNOWN_FAILURE = "unknown"


class Measurements(Protocol):
    def record(self, name: str, unit: str, value: float, dimensions: dict[str, str]) -> None:
        """Record one measurement (an EMF blob on AWS) with dimensions of its own. `unit` is CloudWatch's."""


class PromotionMetrics:
    """Measures what a status change shows; a Watcher of promotions.release.notifications."""

    def __init__(self, approvals: ApprovalStore, measurements: Measurements) -> None:
        self._approvals = approvals
        self._measurements = measurements

    def notice(self, change: StatusChange, release: Release) -> None:
        if not isinstance(change, EnvironmentStatusChange):
            return
        run = release.environment(change.environment)
        where = {"product": release.product, "environment": change.environment}
        record = self._measurements.record
        if change.status is EnvironmentStatus.SUCCESSFUL:
            record("PromotionLeadTime", "Seconds", (change.at - release.created_at).total_seconds(), where)
            if run.started_at is not None:
                duration = (run.finished_at or change.at) - run.started_at
                record("EnvironmentDuration", "Seconds", duration.total_seconds(), where)
        if change.status is EnvironmentStatus.FAILED:
            kind = run.failure.kind.value if run.failure is not None else UNKNOWN_FAILURE
            record("EnvironmentFailures", "Count", 1, {**where, "reason": kind})
        if change.previous is EnvironmentStatus.SUSPENDED and change.status is EnvironmentStatus.RUNNING:
            # Approvals resume the environment when decided or timed out (promotions.release.approvals).
            asked = [a for a in self._approvals.of_release(release.id) if a.environment == change.environment]
            if asked:
                record("ApprovalWait", "Seconds", (change.at - asked[-1].created_at).total_seconds(), where)
