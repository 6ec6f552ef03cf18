"""argoCdHealth against FakeArgoCd (a real local HTTP server serving the upstream fixture's Application in
scripted states): deploy verification as a check that waits while Argo CD is on its way."""

import json
from pathlib import Path

import pytest
from promotions.checks import CommitRef, Failed, Passed, Wait, evaluate_checks
from promotions.release.builtin_checks import verification_check
from promotions.config import Application, Environment
from promotions_local.fakes import ArgoAppState, FakeArgoCd

TOKEN = "argocd-api-token"
TOKEN_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:argocd-token"
OLD = "1111111111111111111111111111111111111111"
NEW = "2222222222222222222222222222222222222222"
SYNCED = "successfully synced (all tasks run)"


@pytest.fixture(scope="module")
def application_shape(upstream_events: Path) -> dict:
    return json.loads((upstream_events / "argocd-application.json").read_text())


@pytest.fixture
def argocd(application_shape, secrets):
    secrets.secrets[TOKEN_SECRET] = TOKEN
    with FakeArgoCd(token=TOKEN, application_shape=application_shape) as fake:
        yield fake


@pytest.fixture
def promoted(context):
    """A post-action's context: the promotion commit is the revision Argo CD must reach."""
    return context.model_copy(update={"commit": CommitRef(sha=NEW)})


@pytest.fixture
def health_check(make_check, argocd):
    def make(*applications: dict, timeout: int | None = None, **settings):
        spec = {
            "argoCdHealth": {
                "server": argocd.url,
                "token": TOKEN_SECRET,
                "applications": list(applications) or [{"name": "guestbook-prod"}],
                **settings,
            }
        }
        return make_check("argocd:prod", **spec, **({"timeout": timeout} if timeout else {}))

    return make


def test_healthy_at_the_promoted_revision_passes_reading_with_the_secret_token(
    health_check, argocd, promoted, services
):
    argocd.set_application("guestbook-prod", ArgoAppState(revisions=(NEW,)))
    argocd.set_application("guestbook-api", ArgoAppState(revisions=(NEW,)), namespace="team-a")
    check = health_check({"name": "guestbook-prod"}, {"name": "guestbook-api", "namespace": "team-a"})

    assert check.config.evaluate(promoted, services) == Passed()
    requests = argocd.requests
    assert [(request.path, request.param("appNamespace")) for request in requests] == [
        ("/api/v1/applications/guestbook-prod", None),
        ("/api/v1/applications/guestbook-api", "team-a"),
    ]
    assert {request.headers["authorization"] for request in requests} == {f"Bearer {TOKEN}"}


def test_waits_through_out_of_sync_and_progressing_until_healthy(health_check, argocd, promoted, services):
    argocd.set_application(
        "guestbook-prod",
        ArgoAppState(sync_status="OutOfSync", revisions=(OLD,)),
        ArgoAppState(health_status="Progressing", revisions=(NEW,), operation_phase="Running"),
        ArgoAppState(revisions=(NEW,)),
    )
    check = health_check(pollSeconds=20)

    outcomes = [check.config.evaluate(promoted, services) for _ in range(3)]

    assert outcomes == [
        Wait(seconds=20, reason=f"guestbook-prod: OutOfSync/Healthy at 1111111 (sync Succeeded; {SYNCED})"),
        Wait(seconds=20, reason=f"guestbook-prod: Synced/Progressing at 2222222 (sync Running; {SYNCED})"),
        Passed(),
    ]


def test_an_old_revision_synced_and_healthy_is_not_the_promotion(health_check, argocd, promoted, services):
    argocd.set_application("guestbook-prod", ArgoAppState(revisions=(OLD,)))

    outcome = health_check().config.evaluate(promoted, services)

    assert outcome == Wait(
        seconds=15, reason=f"guestbook-prod: Synced/Healthy at 1111111 (sync Succeeded; {SYNCED})"
    )


def test_degraded_at_the_promoted_revision_fails_with_the_summary(health_check, argocd, promoted, services):
    argocd.set_application("guestbook-prod", ArgoAppState(revisions=(NEW,)))
    argocd.set_application(
        "guestbook-api",
        ArgoAppState(
            health_status="Degraded", revisions=(NEW,), health_message="Deployment exceeded progress deadline"
        ),
    )
    check = health_check({"name": "guestbook-prod"}, {"name": "guestbook-api"})

    outcome = check.config.evaluate(promoted, services)

    assert outcome == Failed(
        reason=f"guestbook-prod: Synced/Healthy at 2222222 (sync Succeeded; {SYNCED}); "
        "guestbook-api: Synced/Degraded at 2222222 (sync Succeeded; Deployment exceeded progress deadline; "
        f"{SYNCED})"
    )


def test_a_failed_sync_of_the_promoted_revision_fails(health_check, argocd, promoted, services):
    argocd.set_application(
        "guestbook-prod",
        ArgoAppState(
            sync_status="OutOfSync",
            revisions=(NEW,),
            operation_phase="Failed",
            operation_message="one or more objects failed to apply",
        ),
    )

    outcome = health_check().config.evaluate(promoted, services)

    assert outcome == Failed(
        reason="guestbook-prod: OutOfSync/Healthy at 2222222 (sync Failed; one or more objects failed to apply)"
    )


def test_still_pending_when_the_timeout_runs_out_fails_naming_what_was_last_seen(
    health_check, argocd, promoted, services, clock
):
    argocd.set_application(
        "guestbook-prod",
        ArgoAppState(sync_status="OutOfSync", revisions=(OLD,)),
        ArgoAppState(health_status="Progressing", revisions=(NEW,)),
    )
    check = health_check(timeout=15)

    first = evaluate_checks([check], promoted, services)
    clock.advance(minutes=14, seconds=50)
    second = evaluate_checks([check], promoted, services, progress=first.progress)
    clock.advance(seconds=10)
    last = evaluate_checks([check], promoted, services, progress=second.progress)

    assert first.outcome == Wait(
        seconds=15, reason=f"guestbook-prod: OutOfSync/Healthy at 1111111 (sync Succeeded; {SYNCED})"
    )
    # The wait is cut short so the timeout is judged when it runs out, not a poll later.
    assert second.outcome == Wait(
        seconds=10, reason=f"guestbook-prod: Synced/Progressing at 2222222 (sync Succeeded; {SYNCED})"
    )
    assert (last.check, last.outcome) == (
        "argocd:prod",
        Failed(
            reason="timed out after 15m: guestbook-prod: Synced/Progressing at 2222222 "
            f"(sync Succeeded; {SYNCED})"
        ),
    )


def test_a_token_argo_cd_refuses_fails_without_waiting(health_check, argocd, promoted, services, secrets):
    argocd.set_application("guestbook-prod", ArgoAppState(revisions=(NEW,)))
    secrets.secrets[TOKEN_SECRET] = "expired-token"

    outcome = health_check().config.evaluate(promoted, services)

    assert outcome == Failed(
        reason=f"Argo CD application guestbook-prod at {argocd.url}: HTTP 401 invalid session: token "
        "signature is invalid; the token is invalid or lacks 'applications, get' on it (Argo CD answers 403 for "
        "a missing application too)"
    )


def test_an_application_argo_cd_does_not_have_fails(health_check, argocd, promoted, services):
    argocd.set_application("guestbook-prod", ArgoAppState(revisions=(NEW,)))

    check = health_check({"name": "guestbook-prod"}, {"name": "guestbook-ui", "namespace": "team-a"})

    outcome = check.config.evaluate(promoted, services)

    assert outcome == Failed(
        reason=f"Argo CD application team-a/guestbook-ui at {argocd.url}: not found "
        '(applications.argoproj.io "guestbook-ui" not found)'
    )


def test_a_token_secret_that_cannot_be_read_fails(make_check, argocd, promoted, services):
    check = make_check(
        "argocd:prod",
        argoCdHealth={
            "server": argocd.url,
            "token": {"secret": TOKEN_SECRET, "key": "apiToken"},
            "applications": [{"name": "guestbook-prod"}],
        },
    )

    outcome = check.config.evaluate(promoted, services)

    assert outcome == Failed(reason=f"secret {TOKEN_SECRET} has no key apiToken")
    assert argocd.requests == []


def test_argo_cd_briefly_unavailable_is_waited_out(health_check, argocd, promoted, services):
    argocd.set_application("guestbook-prod", ArgoAppState(revisions=(NEW,)))
    argocd.fail_next(503)
    check = health_check(pollSeconds=30)

    first = check.config.evaluate(promoted, services)
    second = check.config.evaluate(promoted, services)

    assert first == Wait(
        seconds=30,
        reason=f"Argo CD did not answer: GET {argocd.url}/api/v1/applications/guestbook-prod: HTTP 503",
    )
    assert second == Passed()


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        pytest.param(
            {
                "guestbook-prod": ArgoAppState(revisions=(OLD,)),
                "guestbook-api": ArgoAppState(revisions=(NEW,)),
            },
            Passed(),
            id="each-synced-and-healthy-wherever-it-is",
        ),
        pytest.param(
            {
                "guestbook-prod": ArgoAppState(revisions=(OLD,)),
                "guestbook-api": ArgoAppState(sync_status="OutOfSync", revisions=(OLD,)),
            },
            Wait(
                seconds=15,
                reason=f"guestbook-prod: Synced/Healthy at 1111111 (sync Succeeded; {SYNCED}); "
                f"guestbook-api: OutOfSync/Healthy at 1111111 (sync Succeeded; {SYNCED})",
            ),
            id="one-out-of-sync",
        ),
        pytest.param(
            {
                "guestbook-prod": ArgoAppState(health_status="Progressing", revisions=(OLD,)),
                "guestbook-api": ArgoAppState(
                    health_status="Missing", revisions=(OLD,), operation_phase=None
                ),
            },
            Failed(
                reason=f"guestbook-prod: Synced/Progressing at 1111111 (sync Succeeded; {SYNCED}); "
                "guestbook-api: Synced/Missing at 1111111"
            ),
            id="failure-outranks-pending",
        ),
        pytest.param(
            {
                "guestbook-prod": ArgoAppState(revisions=(OLD,)),
                "guestbook-api": ArgoAppState(sync_status="Unknown", revisions=(), operation_phase=None),
            },
            Wait(
                seconds=15,
                reason=f"guestbook-prod: Synced/Healthy at 1111111 (sync Succeeded; {SYNCED}); "
                "guestbook-api: Unknown/Healthy at no revision",
            ),
            id="never-synced",
        ),
    ],
)
def test_without_a_promotion_commit_only_synced_and_healthy_is_required(
    health_check, argocd, context, services, states, expected
):
    for name, state in states.items():
        argocd.set_application(name, state)
    check = health_check(*({"name": name} for name in states))

    assert context.commit is None
    assert check.config.evaluate(context, services) == expected


def test_an_environments_verification_check_runs_in_its_post_action_phase(argocd, promoted, services, clock):
    environment = Environment.model_validate(
        {
            "metadata": {"name": "prod"},
            "spec": {
                "kind": "prod",
                "clusters": [{"name": "prod-eu"}],
                "verification": {"argocd": {"server": argocd.url, "token": TOKEN_SECRET, "timeout": 5}},
            },
        }
    )
    application = Application.model_validate(
        {
            "metadata": {
                "name": "guestbook-api",
                "namespace": "team-a",
                "annotations": {"codefresh.io/product": "guestbook"},
            },
            "spec": {
                "destination": {"name": "prod-eu", "namespace": "guestbook"},
                "source": {"repoURL": "https://github.com/example/guestbook-deploy.git", "path": "envs/prod"},
            },
        }
    )
    argocd.set_application(
        "guestbook-api",
        ArgoAppState(health_status="Progressing", revisions=(NEW,)),
        ArgoAppState(revisions=(NEW,)),
        namespace="team-a",
    )
    check = verification_check(environment, [application])

    first = evaluate_checks([check], promoted, services)
    clock.advance(seconds=15)
    second = evaluate_checks([check], promoted, services, progress=first.progress)

    assert (first.check, first.outcome) == (
        "argocd:prod",
        Wait(seconds=15, reason=f"guestbook-api: Synced/Progressing at 2222222 (sync Succeeded; {SYNCED})"),
    )
    assert second.outcome == Passed()
    assert second.progress.passed == ("argocd:prod",)
