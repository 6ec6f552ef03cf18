"""Status changes put on the project's event bus, for anyone to route with a rule (docs/events.md).

Every change of a release's or an environment's status becomes one event, `source: promotions`, whose
detail is one of the models here. A change is stored before it is published, and a failure to publish is
logged and counted (`StatusEventsNotPublished`), never raised: the status write stands, and the task that
made it is not retried for it. A retried task would find the status already written and see no change to
publish, so a retry could not bring the event back anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Protocol

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from promotions.release.model import Release
from promotions.release.promotion_metrics import Measurements
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.status_changes import ReleaseStatusChange, StatusChange

logger = Logger(child=True)

EVENT_SOURCE = "promotions"


class EventPublisher(Protocol):
    def put(self, source: str, detail_type: str, detail: str) -> None:
        """Put one event on the bus; raises when the bus refused it."""


class _StatusChangeDetail(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)
    detail_type: ClassVar[str]

    release_id: str = Field(description="The release's id, also its execution's name.")
    product: str = Field(description="The product the release promotes.")
    flow: str = Field(description="The promotion flow the release runs.")
    version: str = Field(description="The product version the release promotes.")
    reason: str | None = Field(
        description="Why the release or environment is where it is, when one is known."
    )
    release_url: str | None = Field(
        description="The release's page (the ReleaseLinkPrefix parameter and the id); null without a prefix."
    )
    time: datetime = Field(description="When the status changed (UTC, ISO 8601).")


class ReleaseStatusChanged(_StatusChangeDetail):
    """A release was created, or moved to another status."""

    detail_type: ClassVar[str] = "Promotion Release Status Change"

    status: ReleaseStatus = Field(description="The release's status now.")
    previous_status: ReleaseStatus | None = Field(description="Null when the release was just created.")
    trigger_commit: str = Field(description="The commit of the trigger environment the release promotes.")


class EnvironmentStatusChanged(_StatusChangeDetail):
    """One of a release's environments moved to another status (it starts Pending with its release)."""

    detail_type: ClassVar[str] = "Promotion Environment Status Change"

    environment: str = Field(description="The environment's name in the flow.")
    status: EnvironmentStatus = Field(description="The environment's status now.")
    previous_status: EnvironmentStatus
    commit: str | None = Field(
        description="The commit the release made in the environment's repository; null until it made one."
    )


STATUS_EVENTS: tuple[type[_StatusChangeDetail], ...] = (ReleaseStatusChanged, EnvironmentStatusChanged)


def status_event(release: Release, change: StatusChange, release_url: str | None) -> _StatusChangeDetail:
    """The event of `change`, told with what the release holds now (read after the change was stored)."""
    common: dict[str, Any] = {
        "release_id": release.id,
        "product": release.product,
        "flow": release.flow,
        "version": release.version,
        "release_url": release_url,
        "time": change.at,
    }
    if isinstance(change, ReleaseStatusChange):
        return ReleaseStatusChanged(
            **common,
            status=change.status,
            previous_status=change.previous,
            reason=release.reason,
            trigger_commit=release.source.commit,
        )
    run = release.environment(change.environment)
    return EnvironmentStatusChanged(
        **common,
        environment=change.environment,
        status=change.status,
        previous_status=change.previous,
        reason=run.reason,
        commit=run.commit,
    )


class StatusEvents:
    """Publishes each status change; a Watcher of promotions.release.notifications."""

    def __init__(
        self,
        publisher: EventPublisher,
        measurements: Measurements,
        release_url: Callable[[str], str | None],
    ) -> None:
        self._publisher = publisher
        self._measurements = measurements
        self._release_url = release_url

    def notice(self, change: StatusChange, release: Release) -> None:
        event = status_event(release, change, self._release_url(release.id))
        try:
            self._publisher.put(EVENT_SOURCE, event.detail_type, event.model_dump_json(by_alias=True))
        except Exception:
            # The change is stored whatever happens here: see the module's docstring.
            logger.exception(
                "status change not published",
                extra={"release": release.id, "detailType": event.detail_type, "status": change.status.value},
            )
            self._measurements.record("StatusEventsNotPublished", "Count", 1, {})
