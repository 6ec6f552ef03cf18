"""Rollback (promotions.release.rollback): which release an environment goes back to, the release that does it,
and what is refused, against DynamoDB on moto shaped as template.yaml's table and the demo's configuration;
executions are recorded, not run (tests/e2e/test_terminate_rollback.py runs one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.permissions import PermissionRefused
from promotions.release.rollback import RollbackRefused, Rollbacks
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.store import ReleaseStore
from tests.functions.api_world import TABLE, promotions_table_from_template
from tests.release.callers import non_prod_tester, operator

PRODUCT, FLOW = "guestbook", "guestbook-release"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
OPERATOR = operator("ops@example.com")


@pytest.fixture
def store(aws) -> ReleaseStore:
    boto3.client("dynamodb").create_table(**promotions_table_from_template())
    return ReleaseStore(TABLE)


@pytest.fixture
def rollbacks(configs, store, executions) -> Rollbacks:
    return Rollbacks(configs, store, executions)


def released(
    store: ReleaseStore, number: int, version: str, qa: EnvironmentStatus, product: str = PRODUCT
) -> Release:
    """A release of `version` that ended with qa `qa` (its commit recorded when Successful)."""
    source = SourceRevision(
        repo_url="https://git.example.com/gitops.git", branch="main", commit=f"{number:040x}"
    )
    release = Release(
        id=release_id_for(product, FLOW, source),
        product=product,
        flow=FLOW,
        version=version,
        trigger_environment="dev",
        source=source,
        config_revision="r",
        status=ReleaseStatus.SUCCEEDED,
        created_at=T0 + timedelta(hours=number),
        environments=[
            EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit=source.commit),
            EnvironmentRun(
                name="qa",
                depends_on=("dev",),
                status=qa,
                commit=f"{number + 100:040x}" if qa is EnvironmentStatus.SUCCESSFUL else None,
            ),
        ],
    )
    assert store.create(release)
    return release


def test_by_default_an_environment_goes_back_to_the_release_that_changed_it_to_another_version(
    rollbacks, store, executions
):
    earlier = released(store, 1, "1.0.0", EnvironmentStatus.SUCCESSFUL)
    released(store, 2, "1.1.0", EnvironmentStatus.FAILED)  # never reached qa
    released(store, 3, "2.0.0", EnvironmentStatus.SUCCESSFUL)
    released(store, 4, "2.0.0", EnvironmentStatus.SUCCESSFUL)  # the same version again
    released(store, 5, "2.1.0", EnvironmentStatus.SUPERSEDED)  # wrote nothing

    rollback = rollbacks.rollback(PRODUCT, "qa", OPERATOR)

    stored = store.get(rollback.id)
    assert (stored.rollback_of, stored.version, stored.source) == (earlier.id, "1.0.0", earlier.source)
    assert (stored.flow, stored.trigger_environment, stored.status) == (FLOW, "dev", ReleaseStatus.QUEUED)
    assert [(run.name, run.status) for run in stored.environments] == [
        ("dev", EnvironmentStatus.SUCCESSFUL),
        ("qa", EnvironmentStatus.PENDING),
    ]
    assert stored.environment("qa").depends_on == ()
    assert [(entry.actor, entry.action) for entry in stored.audit] == [(OPERATOR.actor, "rollback")]
    assert executions.started == [rollback.id]


def test_a_named_release_is_rolled_back_to_and_each_request_is_a_release_of_its_own(
    rollbacks, store, executions
):
    first = released(store, 1, "1.0.0", EnvironmentStatus.SUCCESSFUL)
    released(store, 2, "2.0.0", EnvironmentStatus.SUCCESSFUL)

    once = rollbacks.rollback(PRODUCT, "qa", OPERATOR, to_release=first.id, request="ticket-7")
    again = rollbacks.rollback(PRODUCT, "qa", OPERATOR, to_release=first.id, request="ticket-7")
    other = rollbacks.rollback(PRODUCT, "qa", OPERATOR, to_release=first.id)

    assert once.id == again.id != other.id
    assert executions.started == [once.id, other.id]
    assert store.get(other.id).rollback_of == first.id


@pytest.mark.parametrize(
    ("environment", "target", "refusal"),
    [
        ("qa", "unknown", "toRelease unknown: no such release"),
        ("qa", "other-product", "is a release of another, not of guestbook"),
        ("dev", "earlier", "dev is the trigger environment of release"),
        ("nowhere", "earlier", "no Environment nowhere in configuration revision"),
    ],
)
def test_what_cannot_be_rolled_back_is_refused_saying_why(
    rollbacks, store, executions, environment, target, refusal
):
    targets = {
        "earlier": released(store, 1, "1.0.0", EnvironmentStatus.SUCCESSFUL).id,
        "other-product": released(store, 2, "1.0.0", EnvironmentStatus.SUCCESSFUL, product="another").id,
        "unknown": "unknown",
    }
    with pytest.raises(RollbackRefused, match=refusal):
        rollbacks.rollback(PRODUCT, environment, OPERATOR, to_release=targets[target])
    assert executions.started == []


def test_an_environment_with_nothing_earlier_is_refused(rollbacks, store):
    with pytest.raises(RollbackRefused, match="no release of guestbook has changed qa"):
        rollbacks.rollback(PRODUCT, "qa", OPERATOR)
    released(store, 1, "1.0.0", EnvironmentStatus.SUCCESSFUL)
    released(store, 2, "1.0.0", EnvironmentStatus.SUCCESSFUL)
    with pytest.raises(RollbackRefused, match="qa has run only guestbook 1.0.0"):
        rollbacks.rollback(PRODUCT, "qa", OPERATOR)


def test_a_rollback_needs_rollback_in_the_environment_and_a_refusal_is_on_the_decision_trail(
    rollbacks, store, executions
):
    released(store, 1, "1.0.0", EnvironmentStatus.SUCCESSFUL)
    released(store, 2, "2.0.0", EnvironmentStatus.SUCCESSFUL)

    with pytest.raises(PermissionRefused, match="rollback guestbook in qa"):
        rollbacks.rollback(PRODUCT, "qa", non_prod_tester("nina"))

    assert executions.started == []
    assert len(store.list_releases(product=PRODUCT, limit=10).releases) == 2
    [decision] = store.decisions(PRODUCT, limit=10)
    assert (decision.actor, decision.action, decision.outcome) == ("nina", "rollback", "refused")
