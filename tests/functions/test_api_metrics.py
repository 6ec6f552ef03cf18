"""GET /api/v1/products/{product}/metrics: the DORA keys of the demo's product (prod is its one environment of
kind prod), from releases stored with known times, through the API function in-process on moto."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from promotions import clock, runtime
from promotions.release.model import EnvironmentRun, Release, SourceRevision
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from tests.functions import api_world
from tests.functions.api_world import body

api = api_world.api


def stored_release(
    now: datetime, name: str, hours_ago: float, outcomes: dict[str, tuple[EnvironmentStatus, float]]
) -> None:
    """A guestbook release created `hours_ago` before `now`, its environments ended as `outcomes` says."""
    runtime.services().store.create(
        Release(
            id=name,
            product="guestbook",
            flow="guestbook-release",
            version=name,
            trigger_environment="dev",
            source=SourceRevision(repo_url="https://git.example/gitops.git", branch="main", commit="c" * 40),
            config_revision="r1",
            status=ReleaseStatus.SUCCEEDED,
            created_at=now - timedelta(hours=hours_ago),
            environments=[
                EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL),
                *(
                    EnvironmentRun(name=env, status=status, finished_at=now - timedelta(hours=ended))
                    for env, (status, ended) in outcomes.items()
                ),
            ],
        )
    )


def test_the_dora_keys_of_a_product_over_the_days_asked_for(api):
    ok, failed = EnvironmentStatus.SUCCESSFUL, EnvironmentStatus.FAILED
    now = clock.now()
    stored_release(now, "1.0", 24 * 40, {"prod": (failed, 24 * 40 - 1)})  # before both periods
    stored_release(now, "2.0", 24 * 20, {"staging": (ok, 24 * 20 - 1), "prod": (ok, 24 * 20 - 3)})
    stored_release(now, "2.1", 50, {"prod": (failed, 49)})
    stored_release(now, "2.2", 48, {"prod": (ok, 47)})

    month = body(api.call("GET", "/api/v1/products/guestbook/metrics"))
    three_days = body(api.call("GET", "/api/v1/products/guestbook/metrics", query={"days": "3"}))

    assert month["product"] == "guestbook" and month["days"] == 30
    assert month["deploymentFrequency"] == {"deployments": 2, "perDay": 2 / 30}
    # Leads of 3 hours (2.0) and 1 hour (2.2).
    assert month["leadTimeForChanges"] == {"medianSeconds": 2 * 3600, "samples": 2}
    assert month["changeFailureRate"] == {"failed": 1, "total": 3, "rate": 1 / 3}
    # From 2.1's failure to 2.2's success.
    assert month["timeToRestore"] == {"medianSeconds": 2 * 3600, "samples": 1}
    assert three_days["days"] == 3
    assert three_days["deploymentFrequency"] == {"deployments": 1, "perDay": 1 / 3}
    assert three_days["changeFailureRate"] == {"failed": 1, "total": 2, "rate": 1 / 2}
    assert three_days["leadTimeForChanges"] == {"medianSeconds": 3600, "samples": 1}


def test_a_product_without_prod_promotions_has_null_medians_and_rate(api):
    now = clock.now()
    stored_release(now, "3.0", 5, {"qa": (EnvironmentStatus.SUCCESSFUL, 4)})

    metrics = body(api.call("GET", "/api/v1/products/guestbook/metrics", query={"days": "7"}))

    assert set(metrics) == {
        "product",
        "days",
        "since",
        "until",
        "deploymentFrequency",
        "leadTimeForChanges",
        "changeFailureRate",
        "timeToRestore",
    }
    assert metrics["deploymentFrequency"] == {"deployments": 0, "perDay": 0.0}
    assert metrics["leadTimeForChanges"] == {"medianSeconds": None, "samples": 0}
    assert metrics["changeFailureRate"] == {"failed": 0, "total": 0, "rate": None}
    assert metrics["timeToRestore"] == {"medianSeconds": None, "samples": 0}
    since, until = (datetime.fromisoformat(metrics[key]) for key in ("since", "until"))
    assert until - since == timedelta(days=7)


@pytest.mark.parametrize(
    ("path", "status", "named"),
    [
        ("/api/v1/products/guestbook/metrics?days=0", 400, "query.days"),
        ("/api/v1/products/guestbook/metrics?days=366", 400, "query.days"),
        ("/api/v1/products/nope/metrics", 404, "Product nope"),
    ],
)
def test_bad_metrics_requests_are_problems_naming_what_was_wrong(api, path, status, named):
    path, _, raw_query = path.partition("?")

    response = api.call("GET", path, query=dict([raw_query.split("=")]) if raw_query else None)

    assert response["statusCode"] == status, response["body"]
    assert named in body(response)["detail"]
