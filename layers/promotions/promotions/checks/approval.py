"""approval: wait until enough people approve the promotion in Slack (or through the API), or one rejects it.

    spec:
      approval:
        approvers: {users: [U012AB3CD], groups: [S0614TZR7]}   # Slack user IDs (or API identities), user groups
        minApprovals: 2
        allowSelfApproval: false
        channel: C024BE91L
        text: "Promote ${PRODUCT_NAME} ${VERSION} to ${ENVIRONMENT}?"
      timeout: 240                                               # minutes

The state machine waits on a task token (no Lambda function waits); the approval answers it. Evaluation only
names what to ask; the answer decides: the approvers, a rejection, or a timeout.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, PositiveInt, StringConstraints, model_validator

from promotions.checks.context import CheckContext
from promotions.checks.kind import CheckConfig, IntegrationCheck, caught_error
from promotions.checks.outcomes import CheckOutcome, Failed, Integration, Passed
from promotions.checks.templates import render

# Slack's IDs: users U… or W… (Enterprise Grid), user groups S…, channels C…, G… (private) or D… (direct).
# An approver is a Slack user ID, or an identity of the API (an IAM principal's ARN, a JWT subject) listed
# by its own name, who approves with `promotions approve`.
Approver = Annotated[str, StringConstraints(pattern=r"^\S(?:.*\S)?$", max_length=2048)]
SlackGroup = Annotated[str, StringConstraints(pattern=r"^S[A-Z0-9]{2,}$")]
SlackChannel = Annotated[str, StringConstraints(pattern=r"^[CGD][A-Z0-9]{2,}$")]

DEFAULT_TEXT = "Promote ${PRODUCT_NAME} ${VERSION} to ${ENVIRONMENT}?"
_MENTION = re.compile(r"<(?=[@#!])")


class Approvers(CheckConfig):
    users: tuple[Approver, ...] = ()
    groups: tuple[SlackGroup, ...] = ()


class ApprovalCheck(IntegrationCheck):
    """Passes once `minApprovals` listed people (each a listed user, or a member of a listed user group)
    approved; fails as soon as one of them rejects, naming who and why, or once `timeout` passes."""

    kind: ClassVar[str] = "approval"
    integration: ClassVar[Integration] = "approval"
    # People decide before or after the promotion writes, not around release events.
    allowed_in_hooks: ClassVar[bool] = False
    # It waits, so a PromotionCheck timeout bounds it.
    polls: ClassVar[bool] = True

    approvers: Approvers
    min_approvals: PositiveInt = 1
    allow_self_approval: bool = False
    channel: SlackChannel
    text: Annotated[str, Field(min_length=1, max_length=2000)] = DEFAULT_TEXT

    @model_validator(mode="after")
    def _quorum_reachable(self) -> ApprovalCheck:
        if not self.approvers.users and not self.approvers.groups:
            raise ValueError("approvers lists nobody: give Slack user IDs in users, user-group IDs in groups")
        if not self.approvers.groups and self.min_approvals > len(set(self.approvers.users)):
            raise ValueError(
                f"minApprovals is {self.min_approvals} but only {len(set(self.approvers.users))} users are "
                "listed: the quorum could never be reached"
            )
        return self

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        # Values go in as text: a version or product name must not ping anyone.
        text = render(self.text, context.variables(), escape=lambda value: _MENTION.sub("<\u200b", value))
        return {
            "users": list(self.approvers.users),
            "groups": list(self.approvers.groups),
            "minApprovals": self.min_approvals,
            "allowSelfApproval": self.allow_self_approval,
            "channel": self.channel,
            "text": text,
        }

    def interpret(self, result: Mapping[str, Any]) -> CheckOutcome:
        """Approved: the task's output names the approvers. Rejected, timed out or not asked: the error a Catch
        recorded, whose cause says who rejected and why, or how long it waited."""
        if isinstance(result.get("approvers"), list):
            return Passed()
        error, cause = caught_error(result)
        return Failed(reason=str(cause) if cause else f"approval not granted: {error}")
