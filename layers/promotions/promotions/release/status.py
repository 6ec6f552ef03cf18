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
    # A newer release promoted the environment first: this one wrote nothing, nor did the environments after it.
    SUPERSEDED = "Superseded"
    FAILED = "Failed"
    TERMINATED = "Terminated"

    @property
    def is_final(self) -> bool:
        return self in (
            EnvironmentStatus.SUCCESSFUL,
            EnvironmentStatus.SUPERSEDED,
            EnvironmentStatus.FAILED,
            EnvironmentStatus.TERMINATED,
        )

    @property
    def is_done_well(self) -> bool:
        """Nothing went wrong: promoted, or rightly left alone for a newer release."""
        return self in (EnvironmentStatus.SUCCESSFUL, EnvironmentStatus.SUPERSEDED)
