"""The four DORA keys of one product over a period, from its releases.

Only environments of kind `prod` count, and only the environments a release promotes (never its trigger
environment). A *change* is a promotion into a prod environment by any release but a rollback, ended Successful
(deployed) or Failed; Superseded and Terminated runs wrote nothing or were stopped by a person, so they are
neither. A rollback is no change of its own: it marks the change it undoes as failed, and its success restores
the environment.

- deployment frequency: the changes deployed in the period, and per day;
- lead time for changes: per change deployed in the period, from the release's creation to the environment's
  success. A release records its trigger commit but not the commit's time, so its creation (the push's arrival,
  or the API request) is where lead time starts;
- change failure rate: of the changes that ended in the period, those that Failed or that a rollback of their
  environment undid (the change the environment ran when the rollback was asked for);
- time to restore: from a failure (a Failed change's end, or the success of a change a rollback undid) to the
  next success in that environment that is no such change (a fix, or the rollback), for failures in the period
  restored by its end. Failures before the restore belong to the same outage: it is measured from the first.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from promotions import clock
from promotions.config import Configuration, EnvironmentKind
from promotions.release.manual import ProductNotFound
from promotions.release.model import Release
from promotions.release.status import EnvironmentStatus
from promotions.release.store import ReleaseStore

# A release runs at most 31 days (the execution's TimeoutSeconds): one that ends in the period, or an outage
# still open at its start, is found among the releases created up to that long before it.
LOOKBACK = timedelta(days=31)
# Each release read is one query; this bounds the API's answer time for a product with a very long history.
RELEASES_READ = 1000
_PAGE = 100


class DeploymentFrequency(BaseModel):
    model_config = ConfigDict(frozen=True)

    deployments: int
    per_day: float


class Durations(BaseModel):
    model_config = ConfigDict(frozen=True)

    # None without samples.
    median_seconds: float | None
    samples: int


class ChangeFailureRate(BaseModel):
    model_config = ConfigDict(frozen=True)

    failed: int
    total: int
    # None without changes.
    rate: float | None


class DeliveryMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    product: str
    days: int
    since: datetime
    until: datetime
    deployment_frequency: DeploymentFrequency
    lead_time_for_changes: Durations
    change_failure_rate: ChangeFailureRate
    time_to_restore: Durations


@dataclass(frozen=True, eq=False)
class _Outcome:
    """One promotion of a prod environment that ended Successful or Failed; outcomes are told apart by identity."""

    environment: str
    release: Release
    succeeded: bool
    at: datetime

    @property
    def is_change(self) -> bool:
        return self.release.rollback_of is None


def delivery_metrics(
    releases: Iterable[Release],
    *,
    product: str,
    prod_environments: Collection[str],
    days: int,
    until: datetime,
) -> DeliveryMetrics:
    """The DORA keys over the `days` before `until`, from `releases` of the product: those of the period, and
    those before it that may have ended in it or left an outage open at its start (see LOOKBACK)."""
    since = until - timedelta(days=days)
    releases = [release for release in releases if release.product == product]
    outcomes = sorted(_outcomes(releases, prod_environments), key=lambda outcome: outcome.at)
    undone = _undone_by_rollbacks(releases, outcomes)

    def in_period(moment: datetime) -> bool:
        return since <= moment <= until

    changes = [outcome for outcome in outcomes if outcome.is_change and in_period(outcome.at)]
    deployed = [change for change in changes if change.succeeded]
    failed = [change for change in changes if not change.succeeded or change in undone]
    restores = [
        restored - failed_at
        for failed_at, restored in _outages(outcomes, undone)
        if in_period(failed_at) and restored <= until
    ]
    return DeliveryMetrics(
        product=product,
        days=days,
        since=since,
        until=until,
        deployment_frequency=DeploymentFrequency(deployments=len(deployed), per_day=len(deployed) / days),
        lead_time_for_changes=_durations([change.at - change.release.created_at for change in deployed]),
        change_failure_rate=ChangeFailureRate(
            failed=len(failed), total=len(changes), rate=len(failed) / len(changes) if changes else None
        ),
        time_to_restore=_durations(restores),
    )


def read_delivery_metrics(
    configuration: Configuration,
    store: ReleaseStore,
    product: str,
    *,
    days: int,
    until: datetime | None = None,
) -> DeliveryMetrics:
    """The product's DORA keys over the `days` before `until` (now), from the release store; prod environments
    are those the configuration declares of kind prod."""
    until = until or clock.now()
    if product not in configuration.products:
        raise ProductNotFound(f"there is no Product {product} in the configuration")
    prod = {name for name, env in configuration.environments.items() if env.kind is EnvironmentKind.PROD}
    releases = _releases_created_since(store, product, until - timedelta(days=days) - LOOKBACK)
    return delivery_metrics(releases, product=product, prod_environments=prod, days=days, until=until)


def _releases_created_since(store: ReleaseStore, product: str, earliest: datetime) -> Iterator[Release]:
    token, read = None, 0
    while read < RELEASES_READ:
        page = store.list_releases(product=product, limit=_PAGE, next_token=token)
        for summary in page.releases:
            if summary.created_at < earliest:
                return
            yield store.get(summary.id)
        read += len(page.releases)
        token = page.next_token
        if token is None:
            return


def _outcomes(releases: Iterable[Release], prod_environments: Collection[str]) -> Iterator[_Outcome]:
    ended = (EnvironmentStatus.SUCCESSFUL, EnvironmentStatus.FAILED)
    for release in releases:
        for run in release.promoted_environments:
            if run.name in prod_environments and run.status in ended and run.finished_at is not None:
                yield _Outcome(
                    environment=run.name,
                    release=release,
                    succeeded=run.status is EnvironmentStatus.SUCCESSFUL,
                    at=run.finished_at,
                )


def _undone_by_rollbacks(releases: Iterable[Release], outcomes: list[_Outcome]) -> set[_Outcome]:
    """The changes a rollback undid: for each rollback, what its environment ran when it was asked for."""
    undone = set()
    for rollback in (release for release in releases if release.rollback_of is not None):
        for run in rollback.promoted_environments:
            running = [
                outcome
                for outcome in outcomes
                if outcome.environment == run.name and outcome.succeeded and outcome.at <= rollback.created_at
            ]
            if running and running[-1].is_change:
                undone.add(running[-1])
    return undone


def _outages(outcomes: list[_Outcome], undone: set[_Outcome]) -> Iterator[tuple[datetime, datetime]]:
    """(first failure, restore) of each outage of each environment that was restored, from time-ordered
    outcomes."""
    by_environment: dict[str, list[_Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_environment[outcome.environment].append(outcome)
    for history in by_environment.values():
        failed_at: datetime | None = None
        for outcome in history:
            if outcome.is_change and (not outcome.succeeded or outcome in undone):
                failed_at = failed_at or outcome.at
            elif outcome.succeeded and failed_at is not None:
                yield failed_at, outcome.at
                failed_at = None


def _durations(samples: list[timedelta]) -> Durations:
    seconds = [sample.total_seconds() for sample in samples]
    return Durations(median_seconds=statistics.median(seconds) if seconds else None, samples=len(seconds))
