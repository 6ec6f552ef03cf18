"""Releases people ask for (promotions.release.manual), the audit trail and listings of the store, and what runs
where (promotions.release.reading), against DynamoDB on moto shaped as template.yaml's table, with the demo's
configuration and GitOps repository on disk; executions are recorded, not run."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promotions.config import PolicyAction
from promotions.git import Author, GitRemote
from promotions.release.engine import ReleaseNotRetryable
from promotions.release.manual import ManualReleases, ProductNotFound, RequestRefused, RetryAlreadyStarted
from promotions.release.model import AuditEntry, EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.permissions import PermissionRefused
from promotions.release.reading import product_state
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.store import ReleaseStore, UnknownPageToken
from promotions_local.demo import create_demo_repository
from promotions_local.git_server import serve_repositories
from tests.functions.api_world import TABLE, promotions_table_from_template
from tests.release.callers import non_prod_tester, operator

DEVELOPER = Author(name="Dana", email="dana@example.invalid")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(aws) -> ReleaseStore:
    boto3.client("dynamodb").create_table(**promotions_table_from_template())
    return ReleaseStore(TABLE)


@pytest.fixture
def gitops(tmp_path):
    """The demo's GitOps repository served over smart HTTP, as Git hosts serve it."""
    (tmp_path / "repos").mkdir()
    create_demo_repository(tmp_path / "repos" / "gitops.git")
    with serve_repositories(tmp_path / "repos") as server:
        yield f"{server.base_url}/gitops.git"


@pytest.fixture
def manual(configs, store, executions) -> ManualReleases:
    return ManualReleases(configs, store, executions, lambda url: GitRemote(url))


def bump_dev(gitops, version: str) -> str:
    def edit(tip):
        path = "apps/api/dev/Chart.yaml"
        text = tip.read(path).decode()
        old = text.split('appVersion: "')[1].split('"')[0]
        return {path: text.replace(f'appVersion: "{old}"', f'appVersion: "{version}"').encode()}

    return GitRemote(str(gitops)).commit("main", edit, f"dev runs {version}", DEVELOPER).commit_sha


def stored_release(
    store: ReleaseStore, product: str, created_at: datetime, commit: str = "c" * 40
) -> Release:
    source = SourceRevision(repo_url="https://git.example.com/gitops.git", branch="main", commit=commit)
    release = Release(
        id=release_id_for(product, "flow", source, request=created_at.isoformat()),
        product=product,
        flow="flow",
        version="1.0.0",
        trigger_environment="dev",
        source=source,
        config_revision="r",
        created_at=created_at,
        environments=[EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit=commit)],
    )
    assert store.create(release)
    return release


def test_a_trigger_of_an_earlier_commit_promotes_that_commit_with_the_version_it_has(
    manual, gitops, executions
):
    earlier = bump_dev(gitops, "2.0.0")
    bump_dev(gitops, "3.0.0")

    release = manual.trigger("guestbook", flow=None, commit=earlier, identity=operator("alice"), request="k1")

    assert release.source.commit == earlier and release.version == "2.0.0"
    assert release.trigger_environment == "dev" and release.status is ReleaseStatus.QUEUED
    assert executions.started == [release.id]
    tip = manual.trigger(
        "guestbook", flow="guestbook-release", commit=None, identity=operator("alice"), request="k2"
    )
    assert tip.version == "3.0.0" and tip.source.commit != earlier


def test_a_trigger_is_refused_naming_the_field_at_fault(manual, executions):
    with pytest.raises(RequestRefused, match="commit: ") as unknown_commit:
        manual.trigger("guestbook", flow=None, commit="0" * 40, identity=operator("alice"), request="k")
    with pytest.raises(RequestRefused, match="flow: nightly is not one of Product guestbook's flows"):
        manual.trigger("guestbook", flow="nightly", commit=None, identity=operator("alice"), request="k")
    with pytest.raises(ProductNotFound, match="Product nope"):
        manual.trigger("nope", flow=None, commit=None, identity=operator("alice"), request="k")

    assert unknown_commit.value.field == "commit"
    assert executions.started == []


def test_a_promotion_defaults_to_the_steps_first_dependency_and_writes_only_its_environment(manual, store):
    release = manual.promote(
        "guestbook",
        "staging",
        from_release=None,
        from_environment=None,
        identity=operator("alice"),
        request="k",
    )

    assert release.trigger_environment == "dev"  # staging's step depends on dev
    assert [(run.name, run.status) for run in release.environments] == [
        ("dev", EnvironmentStatus.SUCCESSFUL),
        ("staging", EnvironmentStatus.PENDING),
    ]
    assert release.environment("staging").depends_on == ()
    assert store.get(release.id).audit[0].detail.startswith("staging from dev at ")


def test_a_promotion_keeps_the_action_chosen_over_the_policys(manual, store):
    chosen = manual.promote(
        "guestbook",
        "qa",
        from_release=None,
        from_environment=None,
        identity=operator("a"),
        request="k1",
        action=PolicyAction.PR,
    )
    policy = manual.promote(
        "guestbook", "qa", from_release=None, from_environment=None, identity=operator("a"), request="k2"
    )

    assert store.get(chosen.id).action is PolicyAction.PR
    assert store.get(policy.id).action is None
    assert store.get(chosen.id).audit[0].detail.endswith(", action pr")


def test_the_same_promotion_request_is_one_release(manual, executions):
    first = manual.promote(
        "guestbook", "qa", from_release=None, from_environment="dev", identity=operator("a"), request="k"
    )
    again = manual.promote(
        "guestbook", "qa", from_release=None, from_environment="dev", identity=operator("a"), request="k"
    )

    assert first.id == again.id and executions.started == [first.id]
    assert len(again.audit) == 1


def test_retries_are_numbered_after_the_audit_trail_and_a_lost_race_is_said(manual, store, executions):
    release = manual.trigger("guestbook", flow=None, commit=None, identity=operator("alice"), request="k")
    with pytest.raises(ReleaseNotRetryable, match="is Queued"):
        manual.retry(release.id, identity=operator("bob"))
    store.set_release_status(release.id, ReleaseStatus.FAILED, reason="qa: Failed")

    manual.retry(release.id, identity=operator("bob"))
    store.set_release_status(release.id, ReleaseStatus.FAILED, reason="qa: Failed")
    retried = manual.retry(release.id, identity=operator("carol"))

    assert executions.retried == [f"{release.id}-retry-1", f"{release.id}-retry-2"]
    assert [(entry.actor, entry.action) for entry in retried.audit] == [
        ("alice", "trigger"),
        ("bob", "retry"),
        ("carol", "retry"),
    ]
    # Another caller started retry 3 first: this one is told so, and records nothing.
    executions.start(f"{release.id}-retry-3")
    with pytest.raises(RetryAlreadyStarted, match="retry 3"):
        manual.retry(release.id, identity=operator("dave"))
    assert len(store.get(release.id).audit) == 3


def test_the_audit_trail_is_kept_oldest_first(store):
    release = stored_release(store, "guestbook", T0)
    for minute, actor in [(3, "carol"), (1, "alice"), (2, "bob")]:
        store.record_audit(
            release.id, AuditEntry(at=T0 + timedelta(minutes=minute), actor=actor, action="retry")
        )

    assert [entry.actor for entry in store.get(release.id).audit] == ["alice", "bob", "carol"]


def test_listings_are_newest_first_per_product_or_all_and_page_by_page(store):
    made = [stored_release(store, product, T0 + timedelta(minutes=n)) for n, product in enumerate("abab" * 3)]
    store.set_release_status(made[-1].id, ReleaseStatus.FAILED)

    def all_pages(**filters) -> list[str]:
        seen, token = [], None
        while True:
            page = store.list_releases(limit=2, next_token=token, **filters)
            seen += [release.id for release in page.releases]
            token = page.next_token
            if token is None:
                return seen

    assert all_pages() == [release.id for release in reversed(made)]
    assert all_pages(product="a") == [release.id for release in reversed(made) if release.product == "a"]
    assert all_pages(status=ReleaseStatus.FAILED) == [made[-1].id]
    token = store.list_releases(product="a", limit=1).next_token
    with pytest.raises(UnknownPageToken, match="another listing"):
        store.list_releases(product="b", next_token=token)


def _token(document) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


_ANYTHING = st.recursive(
    st.none() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
# Keys shaped as the index hands them back, with any values: the ones DynamoDB would refuse must be refused here.
_KEY_LIKE = st.dictionaries(
    st.sampled_from(["pk", "sk", "listing", "listed_at", "product"]),
    st.one_of(st.fixed_dictionaries({"S": st.text(max_size=12)}), _ANYTHING),
    max_size=5,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    token=st.one_of(
        st.text(max_size=60),
        st.binary(max_size=60).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
        _ANYTHING.map(_token),
        _KEY_LIKE.map(lambda key: _token({"product": None, "key": key})),
    )
)
def test_a_token_the_store_did_not_hand_out_is_refused_as_such(store, token):
    try:
        page = store.list_releases(next_token=token)
    except UnknownPageToken:
        return
    # Only a key shaped as the index hands one back gets here, and DynamoDB takes it as a start key.
    assert page.releases == [] and page.next_token is None


def test_a_product_shows_each_environment_as_its_newest_completed_release_left_it(manual, store, configs):
    pushed = manual.trigger("guestbook", flow=None, commit=None, identity=operator("alice"), request="k1")
    store.set_environment_status(pushed.id, "qa", EnvironmentStatus.SUCCESSFUL)
    store.record_commit(pushed.id, "qa", "a" * 40)
    promoted = manual.promote(
        "guestbook", "prod", from_release=None, from_environment="qa", identity=operator("b"), request="k2"
    )
    store.set_environment_status(promoted.id, "prod", EnvironmentStatus.SUCCESSFUL)
    store.record_commit(promoted.id, "prod", "b" * 40)
    _, configuration = configs.latest()

    state = {env.environment: env for env in product_state(configuration, store, "guestbook").environments}

    assert list(state) == ["dev", "qa", "staging", "prod"]
    assert (state["prod"].release, state["prod"].commit) == (promoted.id, "b" * 40)
    # The promotion read qa as its source: qa is still where the triggered release put it.
    assert (state["qa"].release, state["qa"].commit) == (pushed.id, "a" * 40)
    assert state["dev"].release == pushed.id
    assert state["staging"].release is None and state["staging"].version is None
    with pytest.raises(ProductNotFound):
        product_state(configuration, store, "nope")


def test_a_request_key_makes_a_release_of_its_own_and_a_push_keeps_its_id():
    source = SourceRevision(repo_url="https://git.example.com/gitops.git", branch="main", commit="c" * 40)

    pushed = release_id_for("guestbook", "flow", source)
    asked = {release_id_for("guestbook", "flow", source, request=key) for key in ("k1", "k2", "k1")}

    assert pushed == release_id_for("guestbook", "flow", source)
    assert len(asked) == 2 and pushed not in asked
    assert all(len(release_id) <= 64 for release_id in asked)


_HANDED_OUT = {
    "pk": {"S": "RELEASE#guestbook-1"},
    "sk": {"S": "RELEASE"},
    "listing": {"S": "RELEASES"},
    "listed_at": {"S": "2026-01-01T00:00:00+00:00#guestbook-1"},
}


@pytest.mark.parametrize(
    "key",
    [
        {name: value for name, value in _HANDED_OUT.items() if name != "listed_at"},
        {**_HANDED_OUT, "product": {"S": "guestbook"}},
        {**_HANDED_OUT, "listing": {"S": "OTHER"}},
        {**_HANDED_OUT, "sk": {"S": "ENV#qa"}},
        {**_HANDED_OUT, "pk": {"S": ""}},
        {**_HANDED_OUT, "listed_at": {"N": "1"}},
    ],
)
def test_a_key_dynamodb_would_refuse_as_a_start_key_is_refused_before_the_query(store, key):
    # moto takes any start key; DynamoDB answers these with a ValidationException, which would be a server error.
    assert store.list_releases(next_token=_token({"product": None, "key": _HANDED_OUT})).releases == []
    with pytest.raises(UnknownPageToken, match="not a page token"):
        store.list_releases(next_token=_token({"product": None, "key": key}))


def test_a_trigger_needs_trigger_in_every_environment_of_the_flow_and_a_refusal_changes_nothing(
    manual, store, executions
):
    with pytest.raises(PermissionRefused) as refused:
        manual.trigger("guestbook", flow=None, commit=None, identity=non_prod_tester("nina"), request="k")

    # The flow promotes qa, staging and prod: prod is the first environment the caller may not trigger.
    assert refused.value.decision.environment == "prod"
    assert str(refused.value).startswith(
        "no PromotionPermissions rule lets jwtSubject nina or jwtGroup non-prod-testers trigger guestbook in prod "
        "(prod)"
    )
    assert executions.started == [] and store.list_releases(limit=10).releases == []
    [decision] = store.decisions("guestbook", limit=10)
    assert (decision.actor, decision.action, decision.outcome) == ("nina", "trigger", "refused")
    assert decision.permission == str(refused.value)


def test_a_promotion_needs_promote_in_its_environment(manual, store, executions):
    tester = non_prod_tester("nina")

    qa = manual.promote(
        "guestbook", "qa", from_release=None, from_environment="dev", identity=tester, request="k1"
    )
    with pytest.raises(PermissionRefused, match="promote guestbook in prod"):
        manual.promote(
            "guestbook", "prod", from_release=None, from_environment="qa", identity=tester, request="k2"
        )

    assert executions.started == [qa.id]
    [allowed] = qa.audit
    assert (allowed.action, allowed.outcome) == ("promote", "allowed")
    assert allowed.permission == "PromotionPermissions release-tests rule 2"
    assert [(entry.action, entry.outcome) for entry in store.decisions("guestbook", limit=10)] == [
        ("promote", "refused")
    ]


def test_a_refused_retry_is_on_the_release_audit_trail_and_does_not_count_as_a_retry(
    manual, store, executions
):
    release = manual.trigger("guestbook", flow=None, commit=None, identity=operator("alice"), request="k")
    store.set_release_status(release.id, ReleaseStatus.FAILED, reason="prod: Failed")

    with pytest.raises(PermissionRefused, match="retry guestbook in prod"):
        manual.retry(release.id, identity=non_prod_tester("nina"))
    manual.retry(release.id, identity=operator("bob"))

    assert executions.retried == [f"{release.id}-retry-1"]
    assert [(entry.actor, entry.action, entry.outcome) for entry in store.get(release.id).audit] == [
        ("alice", "trigger", "allowed"),
        ("nina", "retry", "refused"),
        ("bob", "retry", "allowed"),
    ]


def test_the_decision_trail_lists_newest_first(store):
    for minute in (1, 3, 2):
        store.record_decision(
            "guestbook",
            AuditEntry(
                at=T0 + timedelta(minutes=minute),
                actor=f"caller-{minute}",
                action="trigger",
                outcome="refused",
            ),
        )
    store.record_decision("other", AuditEntry(at=T0, actor="elsewhere", action="trigger", outcome="refused"))

    assert [entry.actor for entry in store.decisions("guestbook", limit=10)] == [
        "caller-3",
        "caller-2",
        "caller-1",
    ]
    assert [entry.actor for entry in store.decisions("guestbook", limit=2)] == ["caller-3", "caller-2"]
