"""The DORA keys on histories of releases built with known times: every figure is checked exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from promotions.release.delivery_metrics import delivery_metrics
from promotions.release.model import EnvironmentRun, Release, SourceRevision
from promotions.release.status import EnvironmentStatus

UNTIL = datetime(2026, 3, 31, 12, tzinfo=UTC)
DAYS = 30
PROD = {"prod", "prod-eu"}
OK = EnvironmentStatus.SUCCESSFUL
FAILED = EnvironmentStatus.FAILED


def hours_ago(hours: float) -> datetime:
    return UNTIL - timedelta(hours=hours)


def release(
    name: str,
    created: datetime,
    outcomes: dict[str, tuple[EnvironmentStatus, datetime | None]],
    *,
    rollback_of: str | None = None,
    product: str = "shop",
) -> Release:
    """A release of `product` from dev whose promoted environments ended as `outcomes` says, and when."""
    return Release(
        id=name,
        product=product,
        flow="shop-release",
        version=name,
        trigger_environment="dev",
        source=SourceRevision(repo_url="https://git.example/gitops.git", branch="main", commit="c" * 40),
        config_revision="r1",
        created_at=created,
        environments=[
            EnvironmentRun(name="dev", status=OK, finished_at=created),
            *(
                EnvironmentRun(name=environment, depends_on=("dev",), status=status, finished_at=finished)
                for environment, (status, finished) in outcomes.items()
            ),
        ],
        rollback_of=rollback_of,
    )


def metrics(*releases: Release, days: int = DAYS):
    return delivery_metrics(releases, product="shop", prod_environments=PROD, days=days, until=UNTIL)


def test_without_prod_promotions_nothing_is_counted_and_medians_and_the_rate_are_null():
    only_staging = release("1.0", hours_ago(50), {"staging": (OK, hours_ago(49)), "prod": (FAILED, None)})
    still_running = release("1.1", hours_ago(5), {"prod": (EnvironmentStatus.RUNNING, None)})

    figures = metrics(only_staging, still_running)

    assert figures.since == UNTIL - timedelta(days=DAYS) and figures.until == UNTIL
    assert (figures.deployment_frequency.deployments, figures.deployment_frequency.per_day) == (0, 0.0)
    assert (figures.lead_time_for_changes.median_seconds, figures.lead_time_for_changes.samples) == (None, 0)
    assert figures.change_failure_rate.model_dump() == {"failed": 0, "total": 0, "rate": None}
    assert (figures.time_to_restore.median_seconds, figures.time_to_restore.samples) == (None, 0)


def test_deployments_are_the_prod_changes_deployed_in_the_period_and_lead_time_runs_from_the_release():
    lead_hours = {"2.0": 1, "2.1": 3, "2.2": 2}
    deployed = [
        release(name, hours_ago(100 - 10 * index), {"prod": (OK, hours_ago(100 - 10 * index - lead))})
        for index, (name, lead) in enumerate(lead_hours.items())
    ]
    two_prods = release("2.3", hours_ago(48), {"prod": (OK, hours_ago(47.5)), "prod-eu": (OK, hours_ago(46))})
    not_counted = [
        release(
            "1.0",
            UNTIL - timedelta(days=DAYS, hours=2),
            {"prod": (OK, UNTIL - timedelta(days=DAYS, hours=1))},
        ),
        release("2.4", hours_ago(30), {"staging": (OK, hours_ago(29))}),
        release("2.5", hours_ago(20), {"prod": (EnvironmentStatus.SUPERSEDED, hours_ago(19))}),
        release("2.6", hours_ago(10), {"prod": (EnvironmentStatus.TERMINATED, hours_ago(9))}),
        release("9.9", hours_ago(8), {"prod": (OK, hours_ago(7))}, product="other"),
    ]

    figures = metrics(*deployed, two_prods, *not_counted)

    assert figures.deployment_frequency.deployments == 5
    assert figures.deployment_frequency.per_day == 5 / DAYS
    # Leads of 1, 3 and 2 hours, then 0.5 and 2 hours: the median of five is the third smallest.
    assert figures.lead_time_for_changes.samples == 5
    assert figures.lead_time_for_changes.median_seconds == 2 * 3600
    assert figures.change_failure_rate.model_dump() == {"failed": 0, "total": 5, "rate": 0.0}
    assert figures.time_to_restore.samples == 0


def test_failures_count_against_the_changes_and_the_outage_lasts_from_the_first_to_the_next_success():
    history = [
        release("3.0", hours_ago(60), {"prod": (OK, hours_ago(59))}),
        release("3.1", hours_ago(40), {"prod": (FAILED, hours_ago(39))}),
        release("3.2", hours_ago(38), {"prod": (FAILED, hours_ago(37))}),
        # prod-eu's own outage, restored 30 minutes after it began.
        release("3.3", hours_ago(36), {"prod-eu": (FAILED, hours_ago(35.5))}),
        release("3.4", hours_ago(35), {"prod": (OK, hours_ago(33)), "prod-eu": (OK, hours_ago(35))}),
    ]

    figures = metrics(*history)

    assert figures.change_failure_rate.model_dump() == {"failed": 3, "total": 6, "rate": 0.5}
    assert figures.deployment_frequency.deployments == 3
    # prod: from 3.1's failure (39 hours ago) to 3.4's success (33 hours ago); prod-eu: 30 minutes.
    assert figures.time_to_restore.samples == 2
    assert figures.time_to_restore.median_seconds == (6 * 3600 + 0.5 * 3600) / 2


def test_a_rollback_fails_the_change_it_undid_and_restores_the_environment_without_being_a_change():
    history = [
        release("4.0", hours_ago(80), {"prod": (OK, hours_ago(79))}),
        release("4.1", hours_ago(30), {"prod": (OK, hours_ago(28))}),
        release("4.0", hours_ago(27), {"prod": (OK, hours_ago(26))}, rollback_of="4.0"),
    ]

    figures = metrics(*history)

    assert figures.deployment_frequency.deployments == 2
    assert figures.lead_time_for_changes.samples == 2
    assert figures.change_failure_rate.model_dump() == {"failed": 1, "total": 2, "rate": 0.5}
    # From 4.1's success, the change the rollback undid, to the rollback's own success.
    assert (figures.time_to_restore.samples, figures.time_to_restore.median_seconds) == (1, 2 * 3600)


def test_a_rollback_still_running_fails_its_cause_but_restores_nothing_yet():
    history = [
        release("5.0", hours_ago(30), {"prod": (OK, hours_ago(28))}),
        release("4.9", hours_ago(2), {"prod": (EnvironmentStatus.RUNNING, None)}, rollback_of="4.8"),
    ]

    figures = metrics(*history)

    assert figures.change_failure_rate.model_dump() == {"failed": 1, "total": 1, "rate": 1.0}
    assert (figures.time_to_restore.samples, figures.time_to_restore.median_seconds) == (0, None)


def test_only_outages_that_began_in_the_period_and_were_restored_by_its_end_are_measured():
    begun_before = [
        release("6.0", hours_ago(31), {"prod": (FAILED, hours_ago(30))}),
        release("6.1", hours_ago(21), {"prod": (OK, hours_ago(20))}),
    ]
    open_at_the_end = release("6.2", hours_ago(3), {"prod": (FAILED, hours_ago(2))})

    one_day = metrics(*begun_before, open_at_the_end, days=1)
    two_days = metrics(*begun_before, open_at_the_end, days=2)

    assert one_day.change_failure_rate.model_dump() == {"failed": 1, "total": 2, "rate": 0.5}
    assert (one_day.time_to_restore.samples, one_day.time_to_restore.median_seconds) == (0, None)
    assert two_days.change_failure_rate.model_dump() == {"failed": 2, "total": 3, "rate": 2 / 3}
    assert (two_days.time_to_restore.samples, two_days.time_to_restore.median_seconds) == (1, 10 * 3600)
