"""The variables a check hands on: Codefresh's argument names, and the promotion context."""

import json
from datetime import UTC, datetime

from promotions.checks import CommitRef


def test_pre_actions_get_codefresh_application_arguments_and_no_commit(context):
    variables = context.variables()

    assert {
        name: variables[name] for name in ("APP_NAME", "APP_NAMESPACE", "REPO_URL", "BRANCH", "PATH")
    } == {
        "APP_NAME": "guestbook-prod",
        "APP_NAMESPACE": "guestbook",
        "REPO_URL": "https://github.com/example/guestbook-deploy.git",
        "BRANCH": "main",
        "PATH": "envs/prod",
    }
    assert {
        name: variables[name] for name in ("COMMIT_SHA", "COMMIT_AUTHOR", "COMMIT_MESSAGE", "COMMIT_DATE")
    } == {
        "COMMIT_SHA": "",
        "COMMIT_AUTHOR": "",
        "COMMIT_MESSAGE": "",
        "COMMIT_DATE": "",
    }
    assert variables["RELEASE_ID"] == "guestbook-4f2a9c1d7e3b-0a1b2c3d4e"
    assert variables["PRODUCT_NAME"] == "guestbook"
    assert variables["VERSION"] == "1.4.2"
    assert variables["ENVIRONMENT"] == "prod"
    assert variables["PROMOTION_FLOW_NAME"] == "standard"
    assert variables["RELEASE_URL"] == "https://promotions.example/releases/guestbook-4f2a9c1d7e3b-0a1b2c3d4e"


def test_post_actions_get_the_promotion_commit(context):
    commit = CommitRef(
        sha="9fceb02d0ae598e95dc970b74767f19372d61af8",
        author="Promotions <promotions@noreply.local>",
        message="Promote guestbook 1.4.2 to prod",
        date=datetime(2025, 3, 24, 10, 5, tzinfo=UTC),
    )

    variables = context.model_copy(update={"commit": commit}).variables()

    assert variables["COMMIT_SHA"] == "9fceb02d0ae598e95dc970b74767f19372d61af8"
    assert variables["COMMIT_AUTHOR"] == "Promotions <promotions@noreply.local>"
    assert variables["COMMIT_MESSAGE"] == "Promote guestbook 1.4.2 to prod"
    assert variables["COMMIT_DATE"] == "2025-03-24T10:05:00+00:00"


def test_promotion_context_is_json_and_its_keys_are_variables_that_never_replace_built_ins(context):
    exported = {
        "JIRA_ISSUE_URL": "https://jira.example/browse/OPS-7",
        "approvers": ["ana", "li"],
        "VERSION": "9.9.9",
    }

    variables = context.with_promotion_context(exported).variables()

    assert json.loads(variables["PROMOTION_CONTEXT"]) == exported
    assert variables["JIRA_ISSUE_URL"] == "https://jira.example/browse/OPS-7"
    assert json.loads(variables["approvers"]) == ["ana", "li"]
    assert variables["VERSION"] == "1.4.2"


def test_a_later_export_of_a_key_wins(context):
    first = context.with_promotion_context({"channel": "#deploys", "ticket": "OPS-1"})

    merged = first.with_promotion_context({"ticket": "OPS-2"})

    assert merged.promotion_context == {"channel": "#deploys", "ticket": "OPS-2"}
    assert first.promotion_context == {"channel": "#deploys", "ticket": "OPS-1"}


def test_release_level_hooks_have_no_application_or_environment(context):
    variables = context.model_copy(update={"app": None, "environment": None}).variables()

    assert (variables["APP_NAME"], variables["PATH"], variables["ENVIRONMENT"]) == ("", "", "")


def test_on_fail_hooks_get_the_failed_environments_as_a_json_array(context):
    failed = context.model_copy(
        update={"error_message": "prod: timed out after 15m", "failed_environments": ("qa", "prod")}
    ).variables()

    assert json.loads(failed["FAILED_ENVIRONMENTS"]) == ["qa", "prod"]
    assert failed["ERROR_MESSAGE"] == "prod: timed out after 15m"
    assert context.variables()["FAILED_ENVIRONMENTS"] == "[]"
