"""Argo CD verification against FakeArgoCd, serving the upstream fixture's Application in scripted states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promotions.argocd import (
    AppObservation,
    ArgoCdAppNotFound,
    ArgoCdAuthError,
    ArgoCdClient,
    ArgoCdError,
    HealthStatus,
    OperationPhase,
    SyncStatus,
    verify,
)
from promotions.http import HttpClient, HttpTransientError
from promotions_local.fakes import ArgoAppState, FakeArgoCd

TOKEN = "argocd-secret-token"
OLD = "1111111111111111111111111111111111111111"
NEW = "2222222222222222222222222222222222222222"


@pytest.fixture(scope="module")
def application_fixture(upstream_events: Path) -> dict:
    return json.loads((upstream_events / "argocd-application.json").read_text())


@pytest.fixture
def argocd(application_fixture):
    with FakeArgoCd(token=TOKEN, application_shape=application_fixture) as fake:
        yield fake


@pytest.fixture
def client(argocd) -> ArgoCdClient:
    return ArgoCdClient(argocd.url, TOKEN, HttpClient())


def test_reads_an_application_with_the_bearer_token(argocd, client):
    argocd.set_application(
        "guestbook-prod",
        ArgoAppState(
            revisions=(NEW,), health_message="all pods ready", conditions=(("SyncError", "hook\nfailed"),)
        ),
    )

    observation = client.application("guestbook-prod")

    assert observation.name == "guestbook-prod"
    assert observation.namespace == FakeArgoCd.CONTROL_PLANE_NAMESPACE
    assert observation.sync_status is SyncStatus.SYNCED
    assert observation.health_status is HealthStatus.HEALTHY
    assert observation.revisions == (NEW,)
    assert observation.operation_phase is OperationPhase.SUCCEEDED
    assert observation.operation_revisions == (NEW,)
    assert observation.reconciled_at is not None
    assert observation.message == (
        "all pods ready; successfully synced (all tasks run); SyncError: hook failed"
    )
    [request] = argocd.requests
    assert request.path == "/api/v1/applications/guestbook-prod"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_app_namespace_selects_the_application(argocd, client):
    argocd.set_application("guestbook", ArgoAppState(revisions=(NEW,)), namespace="team-a")

    assert client.application("guestbook", app_namespace="team-a").namespace == "team-a"
    assert argocd.requests[-1].param("appNamespace") == "team-a"
    with pytest.raises(ArgoCdAppNotFound, match="guestbook"):
        client.application("guestbook")


def test_scripted_rollout_goes_pending_then_verified(argocd, client):
    argocd.set_application(
        "api",
        ArgoAppState(sync_status="OutOfSync", health_status="Healthy", revisions=(OLD,)),
        ArgoAppState(health_status="Progressing", revisions=(NEW,), operation_phase="Running"),
        ArgoAppState(health_status="Progressing", revisions=(NEW,)),
        ArgoAppState(revisions=(NEW,)),
    )

    outcomes = [verify([client.application("api")], NEW).outcome for _ in range(5)]

    assert outcomes == ["pending", "pending", "pending", "verified", "verified"]


def test_summary_names_each_application_last_state(argocd, client):
    argocd.set_application("api", ArgoAppState(revisions=(NEW,)))
    argocd.set_application(
        "worker", ArgoAppState(sync_status="OutOfSync", health_status="Progressing", revisions=(OLD,))
    )

    verification = verify([client.application("api"), client.application("worker")], NEW)

    assert verification.outcome == "pending"
    assert verification.summary.startswith("api: Synced/Healthy at 2222222 (sync Succeeded")
    assert "worker: OutOfSync/Progressing at 1111111 (sync Succeeded" in verification.summary
    assert "\n" not in verification.summary


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (
            ArgoAppState(health_status="Degraded", revisions=(NEW,), health_message="CrashLoopBackOff"),
            "failed",
        ),
        (ArgoAppState(health_status="Missing", revisions=(NEW,)), "failed"),
        (ArgoAppState(sync_status="OutOfSync", revisions=(NEW,), operation_phase="Failed"), "failed"),
        (ArgoAppState(sync_status="OutOfSync", revisions=(NEW,), operation_phase="Error"), "failed"),
        # The old revision's trouble is not the promotion's: it may be what the promotion fixes.
        (ArgoAppState(health_status="Degraded", revisions=(OLD,)), "pending"),
        (ArgoAppState(sync_status="OutOfSync", revisions=(OLD,), operation_phase="Failed"), "pending"),
        (ArgoAppState(health_status="Suspended", revisions=(NEW,)), "pending"),
        # Healthy and Synced while PostSync hooks still run: not done yet.
        (ArgoAppState(revisions=(NEW,), operation_phase="Running"), "pending"),
        (
            ArgoAppState(sync_status="Unknown", health_status="Unknown", revisions=(), operation_phase=None),
            "pending",
        ),
    ],
)
def test_verdicts(argocd, client, state, outcome):
    argocd.set_application("api", state)

    verification = verify([client.application("api")], NEW)

    assert verification.outcome == outcome
    if state.health_message:
        assert state.health_message in verification.summary


def test_one_failed_application_fails_the_environment(argocd, client):
    argocd.set_application("api", ArgoAppState(revisions=(NEW,)))
    argocd.set_application("db", ArgoAppState(health_status="Degraded", revisions=(NEW,)))
    argocd.set_application("worker", ArgoAppState(health_status="Progressing", revisions=(NEW,)))

    observations = [client.application(name) for name in ("api", "db", "worker")]

    assert verify(observations, NEW).outcome == "failed"


def test_multi_source_application_is_at_the_revision_of_any_source(argocd, client):
    chart_version = "4.2.0"
    argocd.set_application("platform", ArgoAppState(revisions=(chart_version, NEW)))

    observation = client.application("platform")

    assert observation.revisions == (chart_version, NEW)
    assert verify([observation], NEW).outcome == "verified"
    assert verify([observation], OLD).outcome == "pending"


def test_wrong_token_is_an_auth_error_without_the_token(argocd):
    argocd.set_application("api", ArgoAppState(revisions=(NEW,)))
    wrong = ArgoCdClient(argocd.url, "not-the-token", HttpClient())

    with pytest.raises(ArgoCdAuthError) as caught:
        wrong.application("api")

    assert "HTTP 401" in str(caught.value) and "not-the-token" not in str(caught.value)


def test_failure_reasons_name_the_server_without_its_user_information(argocd):
    server = argocd.url.replace("http://", "http://admin:s3cret-password@")

    with pytest.raises(ArgoCdAppNotFound) as caught:
        ArgoCdClient(server, TOKEN, HttpClient()).application("missing")

    assert f"at {argocd.url}:" in str(caught.value) and "s3cret-password" not in str(caught.value)


def test_the_token_does_not_follow_a_redirect_to_another_origin(argocd, api):
    argocd.set_application("api", ArgoAppState(revisions=(NEW,)))
    path = "/api/v1/applications/api"
    api.respond("GET", path, lambda request: (307, b"", {"Location": argocd.url + path}))

    with pytest.raises(ArgoCdAuthError, match="HTTP 401"):
        ArgoCdClient(api.url, TOKEN, HttpClient()).application("api")

    [redirected] = api.requests
    assert redirected.headers["Authorization"] == f"Bearer {TOKEN}"
    [request] = argocd.requests
    assert request.path == path and "authorization" not in request.headers


def test_403_is_an_auth_error(argocd, client):
    argocd.fail_next(403)

    with pytest.raises(ArgoCdAuthError, match="HTTP 403"):
        client.application("api")


def test_5xx_is_transient_and_the_next_read_succeeds(argocd, client):
    argocd.set_application("api", ArgoAppState(revisions=(NEW,)))
    argocd.fail_next(502)

    with pytest.raises(HttpTransientError):
        client.application("api")
    assert client.application("api").revisions == (NEW,)


def test_other_4xx_is_an_argocd_error(argocd, client):
    argocd.fail_next(400)

    with pytest.raises(ArgoCdError, match="HTTP 400 injected failure"):
        client.application("api")


def test_verify_needs_applications():
    with pytest.raises(ValueError, match="no Argo CD applications"):
        verify([], NEW)


def test_verify_compares_revisions_case_insensitively():
    revision = "ea8759964626a583667a2bfd08f334ec2070040a"
    observation = AppObservation(
        name="api",
        sync_status=SyncStatus.SYNCED,
        health_status=HealthStatus.HEALTHY,
        revisions=(revision.upper(),),
    )
    assert verify([observation], revision).outcome == "verified"
