"""Statuses, spelled as Codefresh spells them so dashboards and users read the same words."""

from __future__ import annotations

from enum import StrEnum


class ReleaseStatus(StrEnum):
    QUEUED = "Queued"
    RUNNING = "Running"
    SUSPENDED = "Suspended"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"

    @property
    def is_final(self) -> bool:
        return self in (ReleaseStatus.SUCCEEDED, ReleaseStatus.FAILED, ReleaseStatus.TERMINATED)


class EnvironmentStatus(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUSPENDED = "Suspended"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    TERMINATED = "Terminated"

    @property
    def is_final(self) -> bool:
        return self in (EnvironmentStatus.SUCCESSFUL, EnvironmentStatus.FAILED, EnvironmentStatus.TERMINATED)
