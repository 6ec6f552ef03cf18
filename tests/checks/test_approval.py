"""The approval check kind: its configuration, what it asks the state machine for, and how it reads the
answer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from promotions.checks import Failed, Passed, PromotionCheck, Run
from promotions.checks.approval import ApprovalCheck


def approval(**spec) -> PromotionCheck:
    approval_spec = {"approvers": {"users": ["U012AB3CD"], "groups": ["S0614TZR7"]}, "channel": "C024BE91L"}
    return PromotionCheck.model_validate(
        {
            "metadata": {"name": "prod-approval"},
            "spec": {"approval": approval_spec | spec.pop("approval", {}), **spec},
        }
    )


def test_the_issues_example_reads_with_its_timeout():
    check = approval(approval={"minApprovals": 2, "allowSelfApproval": False}, timeout=240)
    assert isinstance(check.config, ApprovalCheck)
    assert (
        check.config.min_approvals == 2
        and check.timeout is not None
        and check.timeout.total_seconds() == 240 * 60
    )


@pytest.mark.parametrize(
    ("approval_spec", "problem"),
    [
        ({"approvers": {}}, "approvers lists nobody"),
        ({"approvers": {"users": ["U012AB3CD"]}, "minApprovals": 2}, "the quorum could never be reached"),
        ({"approvers": {"users": [" U012AB3CD"]}}, "String should match pattern"),
        ({"approvers": {"groups": ["ops"]}}, "String should match pattern"),
        ({"channel": "#deploys"}, "String should match pattern"),
        ({"minApprovals": 0}, "greater than 0"),
        ({"quorum": 2}, "Extra inputs are not permitted"),
    ],
)
def test_unusable_configurations_are_refused_saying_why(approval_spec, problem):
    with pytest.raises(ValidationError, match=problem):
        approval(approval=approval_spec)


def test_it_asks_the_state_machine_for_an_approval_with_the_text_rendered(context):
    check = approval(approval={"text": "Ship ${PRODUCT_NAME} ${VERSION} to ${ENVIRONMENT}? <!here>"})
    outcome = check.config.evaluate(context, services=None)  # type: ignore[arg-type]
    assert isinstance(outcome, Run) and outcome.integration == "approval"
    assert outcome.parameters == {
        "users": ["U012AB3CD"],
        "groups": ["S0614TZR7"],
        "minApprovals": 1,
        "allowSelfApproval": False,
        "channel": "C024BE91L",
        "text": "Ship guestbook 1.4.2 to prod? <!here>",
    }


def test_values_cannot_mention_anyone(context):
    check = approval(approval={"text": "Promote ${VERSION}"})
    sneaky = context.model_copy(update={"version": "1.0 <!channel>"})
    assert check.config.evaluate(sneaky, services=None).parameters["text"] == "Promote 1.0 <\u200b!channel>"  # type: ignore[arg-type, union-attr]


def test_an_undefined_variable_fails_the_check(context):
    outcome = approval(approval={"text": "Promote ${NOPE}"}).config.evaluate(context, services=None)  # type: ignore[arg-type]
    assert outcome == Failed(reason="${NOPE} is not a variable of this promotion")


def test_the_answer_decides():
    config = approval().config
    assert isinstance(config, ApprovalCheck)
    assert config.interpret({"approvers": ["alice (U012AB3CD)"]}) == Passed()
    rejected = {"Error": "ApprovalRejected", "Cause": "rejected by bob (U0BOB0001): error budget spent"}
    assert config.interpret(rejected) == Failed(reason="rejected by bob (U0BOB0001): error budget spent")
    timed_out = {"Error": "ApprovalTimedOut", "Cause": "approval timed out after 240 minutes"}
    assert config.interpret(timed_out) == Failed(reason="approval timed out after 240 minutes")
    assert config.interpret({"Error": "Lambda.Unknown", "Cause": ""}) == Failed(
        reason="approval not granted: Lambda.Unknown"
    )


def test_approvals_are_not_hooks():
    assert not approval().allowed_in_hooks
