"""Who may do what, through the API function: a refusal is 403 naming the missing rule and changes nothing, it is
on the product's decision trail, and a caller can read what they may do."""

from __future__ import annotations

from tests.functions import api_world
from tests.functions.api_world import ALICE_ARN, QA_ARN, body, iam

api = api_world.api


def test_a_caller_without_promote_on_prod_is_refused_there_but_promotes_qa(api):
    refused = api.call(
        "POST",
        "/api/v1/promotions",
        {"product": "guestbook", "environment": "prod", "fromEnvironment": "staging"},
        authorizer=iam(QA_ARN),
    )

    assert refused["statusCode"] == 403
    assert refused["headers"]["Content-Type"] == "application/problem+json"
    assert body(refused)["detail"].startswith(
        f"no PromotionPermissions rule lets iamPrincipal {QA_ARN} promote guestbook in prod (prod)"
    )
    assert api.executions() == [] and body(api.call("GET", "/api/v1/releases"))["releases"] == []

    allowed = api.call(
        "POST",
        "/api/v1/promotions",
        {"product": "guestbook", "environment": "qa", "fromEnvironment": "dev"},
        authorizer=iam(QA_ARN),
    )
    assert allowed["statusCode"] == 201, allowed["body"]
    [entry] = body(allowed)["audit"]
    assert (entry["actor"], entry["outcome"], entry["permission"]) == (
        QA_ARN,
        "allowed",
        "PromotionPermissions api-world rule 2",
    )


def test_a_trigger_refusal_names_the_first_environment_missing_and_the_decisions_list_it(api):
    refused = api.call("POST", "/api/v1/releases", {"product": "guestbook"}, authorizer=iam(QA_ARN))
    assert refused["statusCode"] == 403 and "trigger guestbook in prod" in body(refused)["detail"]
    api.call(
        "POST",
        "/api/v1/promotions",
        {"product": "guestbook", "environment": "prod", "fromEnvironment": "staging"},
        authorizer=iam(QA_ARN),
    )

    decisions = body(api.call("GET", "/api/v1/products/guestbook/decisions", authorizer=iam(QA_ARN)))
    assert [(d["action"], d["outcome"], d["actor"]) for d in decisions["decisions"]] == [
        ("promote", "refused", QA_ARN),
        ("trigger", "refused", QA_ARN),
    ]
    assert "promote guestbook in prod" in decisions["decisions"][0]["permission"]
    assert api.executions() == []


def test_a_caller_reads_what_they_may_do(api):
    shown = body(api.call("GET", "/api/v1/products/guestbook/permissions", authorizer=iam(QA_ARN)))

    assert shown == {
        "actor": QA_ARN,
        "environments": {
            "qa": ["trigger", "promote", "retry"],
            "staging": ["trigger", "promote", "retry"],
            "prod": [],
        },
        "product": [],
    }
    everything = body(api.call("GET", "/api/v1/products/guestbook/permissions", authorizer=iam(ALICE_ARN)))
    assert everything["product"] == ["trigger", "promote", "rollback", "approve", "retry", "terminate"]


def test_a_jwt_group_from_cognito_groups_matches_its_rule(api):
    claims = {"sub": "00u9", "email": "mo@example.com", "cognito:groups": "[developers release-managers]"}
    allowed = api.call(
        "POST", "/api/v1/releases", {"product": "guestbook"}, authorizer={"jwt": {"claims": claims}}
    )
    assert allowed["statusCode"] == 201, allowed["body"]

    claims["cognito:groups"] = "[developers]"
    refused = api.call(
        "POST", "/api/v1/releases", {"product": "guestbook"}, authorizer={"jwt": {"claims": claims}}
    )
    assert refused["statusCode"] == 403
    assert "jwtSubject 00u9 or jwtGroup developers trigger guestbook" in body(refused)["detail"]
