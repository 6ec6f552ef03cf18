"""The API function in-process on moto, with real API Gateway HTTP API v2 events (the upstream fixture's shape,
its authorizer replaced by the one each test names), the demo's configuration and GitOps repository on disk,
and a state machine whose executions are listed rather than run."""

from __future__ import annotations

import json

import pytest

from promotions import runtime
from promotions.git import Author, GitRemote
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from tests.functions import api_world
from tests.functions.api_world import ALICE_ARN, body, demo_version

# The world's fixture under the name the tests use; here it replaces tests/conftest.py's `api`.
api = api_world.api


def test_a_triggered_flow_is_a_release_of_the_whole_flow_started_with_who_asked(api):
    response = api.call("POST", "/api/v1/releases", {"product": "guestbook"})

    assert response["statusCode"] == 201, response["body"]
    release = body(response)
    assert release["product"] == "guestbook" and release["flow"] == "guestbook-release"
    assert release["version"] == demo_version("dev")
    assert [env["name"] for env in release["environments"]] == ["dev", "qa", "staging", "prod"]
    assert release["environments"][0]["status"] == "Successful"
    assert [(entry["actor"], entry["action"]) for entry in release["audit"]] == [(ALICE_ARN, "trigger")]
    assert api.executions() == [release["id"]]
    shown = body(api.call("GET", f"/api/v1/releases/{release['id']}"))
    assert shown["audit"] == release["audit"] and shown["source"]["commit"] == release["source"]["commit"]


def test_the_same_idempotency_key_starts_one_release_and_two_requests_start_two(api):
    key = {"idempotency-key": "3f1c"}
    first = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}, headers=key))
    again = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}, headers=key))
    other = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}))

    assert first["id"] == again["id"] != other["id"]
    listed = body(api.call("GET", "/api/v1/releases"))["releases"]
    assert sorted(release["id"] for release in listed) == sorted([first["id"], other["id"]])
    assert [entry["action"] for entry in again["audit"]] == ["trigger"]


def test_a_promotion_of_one_environment_is_a_release_of_that_environment_alone(api):
    staging_chart = "apps/api/staging/Chart.yaml"
    GitRemote(str(api.gitops)).commit(
        "main",
        lambda tip: {staging_chart: tip.read(staging_chart).replace(b'appVersion: "', b'appVersion: "0.9.')},
        "staging runs an older version than dev",
        Author(name="Dana", email="dana@example.invalid"),
    )

    response = api.call(
        "POST",
        "/api/v1/promotions",
        {"product": "guestbook", "environment": "prod", "fromEnvironment": "staging"},
    )

    assert response["statusCode"] == 201, response["body"]
    release = body(response)
    assert (
        release["triggerEnvironment"] == "staging" and release["version"] == f"0.9.{demo_version('staging')}"
    )
    assert [(env["name"], env["status"]) for env in release["environments"]] == [
        ("staging", "Successful"),
        ("prod", "Pending"),
    ]
    assert release["audit"][0]["action"] == "promote" and "prod from staging" in release["audit"][0]["detail"]
    assert api.executions() == [release["id"]]


def test_a_promotion_from_an_earlier_release_promotes_what_that_release_promoted(api):
    earlier = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}))
    response = api.call(
        "POST",
        "/api/v1/promotions",
        {"product": "guestbook", "environment": "qa", "fromRelease": earlier["id"]},
    )

    release = body(response)
    assert release["source"] == earlier["source"] and release["version"] == earlier["version"]
    assert release["triggerEnvironment"] == "dev"


def test_releases_are_listed_newest_first_page_by_page_and_filtered(api):
    started = [body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}))["id"] for _ in range(5)]

    seen, token = [], None
    while True:
        query = {"limit": "2", **({"next": token} if token else {})}
        page = body(api.call("GET", "/api/v1/releases", query=query))
        seen += [release["id"] for release in page["releases"]]
        token = page["next"]
        if token is None:
            break
    assert seen == list(reversed(started))
    queued = body(api.call("GET", "/api/v1/releases", query={"status": "Queued", "product": "guestbook"}))
    assert len(queued["releases"]) == 5
    assert body(api.call("GET", "/api/v1/releases", query={"status": "Failed"}))["releases"] == []


def test_retry_runs_a_failed_release_again_in_an_execution_of_its_own(api):
    release = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}))
    refused = api.call("POST", f"/api/v1/releases/{release['id']}/retry")
    runtime.services().store.set_release_status(release["id"], ReleaseStatus.FAILED, reason="qa: Failed")

    retried = api.call("POST", f"/api/v1/releases/{release['id']}/retry")

    assert refused["statusCode"] == 409
    assert (
        "Queued" in body(refused)["detail"]
        and "only a Failed or Terminated release" in body(refused)["detail"]
    )
    assert retried["statusCode"] == 202
    assert [entry["action"] for entry in body(retried)["audit"]] == ["trigger", "retry"]
    assert api.executions() == sorted([release["id"], f"{release['id']}-retry-1"])


def test_a_product_shows_the_version_each_environment_got_and_from_which_release(api):
    release = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}))
    store = runtime.services().store
    store.set_environment_status(release["id"], "qa", EnvironmentStatus.SUCCESSFUL)
    store.record_commit(release["id"], "qa", "a" * 40)

    product = body(api.call("GET", "/api/v1/products/guestbook"))

    by_name = {env["environment"]: env for env in product["environments"]}
    assert list(by_name) == ["dev", "qa", "staging", "prod"]
    assert by_name["qa"]["release"] == release["id"] and by_name["qa"]["commit"] == "a" * 40
    assert by_name["qa"]["version"] == demo_version("dev")
    assert by_name["dev"]["release"] == release["id"]
    assert by_name["prod"] == {
        "environment": "prod",
        "version": None,
        "commit": None,
        "since": None,
        "release": None,
    }
    listed = body(api.call("GET", "/api/v1/products"))
    assert listed["products"] == [product]


def test_terminate_ends_a_waiting_release_and_says_who_did_it(api):
    active = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}))
    waiting = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}))

    response = api.call("POST", f"/api/v1/releases/{waiting['id']}/terminate", {"reason": "wrong commit"})

    assert response["statusCode"] == 202, response["body"]
    terminated = body(response)
    assert terminated["status"] == "Terminated"
    assert f"terminated by {ALICE_ARN}: wrong commit" in terminated["reason"]
    assert [(e["actor"], e["action"], e["detail"]) for e in terminated["audit"]][-1] == (
        ALICE_ARN,
        "terminate",
        "wrong commit",
    )
    assert api.executions() == [active["id"]]
    again = api.call("POST", f"/api/v1/releases/{waiting['id']}/terminate")
    assert again["statusCode"] == 409 and "only a Queued or Running release" in body(again)["detail"]


def test_a_rollback_is_a_release_of_one_environment_from_the_earlier_release(api):
    earlier = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}))

    response = api.call(
        "POST", "/api/v1/products/guestbook/rollback", {"environment": "qa", "toRelease": earlier["id"]}
    )

    assert response["statusCode"] == 201, response["body"]
    release = body(response)
    assert [env["name"] for env in release["environments"]] == ["dev", "qa"]
    assert release["source"] == earlier["source"]
    assert release["audit"][0]["action"] == "rollback" and earlier["id"] in release["audit"][0]["detail"]


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/api/v1/releases", None),
        ("GET", "/api/v1/products/guestbook", None),
        ("POST", "/api/v1/releases", {"product": "guestbook"}),
        ("POST", "/api/v1/promotions", {"product": "guestbook", "environment": "prod"}),
        ("POST", "/api/v1/releases/guestbook-1/retry", None),
        ("POST", "/api/v1/releases/guestbook-1/terminate", None),
        ("POST", "/api/v1/products/guestbook/rollback", {"environment": "qa"}),
    ],
)
def test_a_request_without_credentials_is_401_and_changes_nothing(api, method, path, payload):
    before = api.stored_items()

    response = api.anonymous(method, path, payload)

    assert response["statusCode"] == 401
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert body(response)["status"] == 401 and "credentials" in body(response)["detail"]
    assert api.stored_items() == before and api.executions() == []


def test_a_jwt_caller_is_named_by_its_claims_on_the_audit_trail(api):
    jwt = {"jwt": {"claims": {"sub": "00u1", "email": "bo@example.com", "iss": "https://id.example.com"}}}

    release = body(api.call("POST", "/api/v1/releases", {"product": "guestbook"}, authorizer=jwt))

    assert release["audit"][0]["actor"] == "bo@example.com (https://id.example.com)"


def test_a_jwt_without_subject_names_nobody_and_is_refused(api):
    # The upstream fixture's own authorizer: claims with neither sub nor email.
    response = api.call("GET", "/api/v1/releases", authorizer=api._shape["requestContext"]["authorizer"])
    assert response["statusCode"] == 401


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "named"),
    [
        ("GET", "/api/v1/releases/no-such-release", None, 404, "no-such-release"),
        ("GET", "/api/v1/products/nope", None, 404, "Product nope"),
        ("POST", "/api/v1/releases", {"product": "nope"}, 404, "Product nope"),
        ("POST", "/api/v1/releases/no-such-release/retry", None, 404, "no-such-release"),
        ("POST", "/api/v1/releases", {"produkt": "guestbook"}, 400, "body.product"),
        ("POST", "/api/v1/releases", {"product": "guestbook", "commit": "abc"}, 400, "body.commit"),
        ("POST", "/api/v1/releases", {"product": "guestbook", "flow": "other"}, 400, "flow: other"),
        ("POST", "/api/v1/releases", "{not json", 400, "body"),
        ("POST", "/api/v1/promotions", {"product": "guestbook"}, 400, "body.environment"),
        (
            "POST",
            "/api/v1/promotions",
            {"product": "guestbook", "environment": "qa", "action": "merge"},
            400,
            "body.action",
        ),
        (
            "POST",
            "/api/v1/promotions",
            {"product": "guestbook", "environment": "dev"},
            400,
            "environment: dev",
        ),
        (
            "POST",
            "/api/v1/promotions",
            {"product": "guestbook", "environment": "qa", "fromRelease": "a", "fromEnvironment": "dev"},
            400,
            "not both",
        ),
        (
            "POST",
            "/api/v1/promotions",
            {"product": "guestbook", "environment": "qa", "fromRelease": "gone"},
            400,
            "fromRelease: there is no release gone",
        ),
        ("GET", "/api/v1/releases?limit=0", None, 400, "query.limit"),
        ("GET", "/api/v1/releases?next=garbage", None, 400, "next:"),
        ("GET", "/api/v1/releases?status=Done", None, 400, "query.status"),
        ("DELETE", "/api/v1/releases", None, 404, "no route DELETE /api/v1/releases"),
        ("POST", "/api/v1/releases/no-such-release/terminate", None, 404, "no-such-release"),
        ("POST", "/api/v1/products/nope/rollback", {"environment": "qa"}, 404, "Product nope"),
        ("POST", "/api/v1/products/guestbook/rollback", {}, 400, "body.environment"),
        ("POST", "/api/v1/products/guestbook/rollback", {"environment": "qa"}, 400, "nothing to roll back"),
    ],
)
def test_bad_requests_are_problems_naming_what_was_wrong(api, method, path, payload, status, named):
    path, _, raw_query = path.partition("?")
    query = dict(pair.split("=") for pair in raw_query.split("&")) if raw_query else None

    response = api.call(method, path, payload, query=query)

    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body(response)
    assert problem["status"] == status and problem["title"] and problem["instance"] == path
    assert named in problem["detail"], problem
    assert api.executions() == []


def test_the_openapi_document_describes_every_route_and_needs_no_credentials(api):
    response = api.anonymous("GET", "/api/v1/openapi.json")

    assert response["statusCode"] == 200
    document = json.loads(response["body"])
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/products",
        "/api/v1/products/{product}",
        "/api/v1/releases",
        "/api/v1/releases/{release_id}",
        "/api/v1/promotions",
        "/api/v1/releases/{release_id}/retry",
        "/api/v1/releases/{release_id}/terminate",
        "/api/v1/products/{product}/rollback",
        "/api/v1/products/{product}/metrics",
        "/api/v1/products/{product}/drift",
        "/api/v1/releases/{release_id}/notes",
        "/api/v1/products/{product}/permissions",
        "/api/v1/products/{product}/decisions",
        "/api/v1/releases/{release_id}/environments/{environment}/approve",
        "/api/v1/releases/{release_id}/environments/{environment}/reject",
    }
    assert "fromRelease" in json.dumps(document["components"]["schemas"]["PromotionRequest"])
