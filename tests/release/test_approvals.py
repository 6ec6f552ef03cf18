"""Approvals against DynamoDB (moto) and the Slack stand-in, through the real Slack adapter: who may decide (the
configuration's permissions and the check's approvers both), decisions counted once and on the audit trail, the
quorum, rejections and timeouts, and what the promotion commit names."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from promotions import clock
from promotions.config import Configuration, load_configuration
from promotions.release.approval_store import ApprovalNotFound, ApprovalRequest, ApprovalStore
from promotions.release.approvals import ApprovalClosed, ApprovalRefused, Approvals, shortened_changes
from promotions.release.model import AuditEntry, EnvironmentRun, Release, SourceRevision
from promotions.release.permissions import Identity, SlackUserGroups
from promotions.release.promotion import FileChange
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.slack.client import SlackClient
from promotions_local.slack_server import SlackStandIn

ALICE, BOB, CAROL, DANA, MALLORY = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DANA001", "U0MALLORY"
# Listed among the approvers, but no rule of the configuration's permissions lets her approve.
ERIN = "U0ERIN001"
MANAGER = "arn:aws:iam::123456789012:role/release-manager"
TOKEN = "task-token-of-prod"
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "demo" / "config"


def permitted_configuration() -> Configuration:
    """The demo's configuration, whose permissions also let everyone here but Erin approve (Carol through the
    ops group)."""
    document = {
        "apiVersion": "promotions.dev/v1alpha1",
        "kind": "PromotionPermissions",
        "metadata": {"name": "approvers"},
        "spec": {
            "rules": [
                {
                    "subjects": [
                        *({"slackUser": user} for user in (ALICE, BOB, DANA, MALLORY)),
                        {"slackGroup": "S0OPS0001"},
                        {"tokenHolder": MANAGER},
                    ],
                    "verbs": ["approve"],
                }
            ]
        },
    }
    files = {path.name: path.read_bytes() for path in DEMO_CONFIG.glob("*.yaml")}
    return load_configuration({**files, "approvers.yaml": json.dumps(document).encode()})


class RecordingTokens:
    def __init__(self) -> None:
        self.answered: list[tuple[str, dict]] = []
        self.refused: list[tuple[str, str, str]] = []

    def answer(self, token, output):
        self.answered.append((token, output))

    def refuse(self, token, error, cause):
        self.refused.append((token, error, cause))


class PermissionsOnlyConfigs:
    """A configuration repository with the permissions alone: the message says the changes could not be read
    at the release's revision."""

    def __init__(self) -> None:
        self._latest = permitted_configuration()

    def at(self, revision):
        raise LookupError(f"no configuration at {revision} in this test")

    def latest(self):
        return "latest", self._latest


@pytest.fixture
def slack():
    with SlackStandIn(
        users={
            name: (name.lower(), f"{name.lower()}@example.invalid")
            for name in (ALICE, BOB, CAROL, DANA, ERIN)
        },
        groups={"S0OPS0001": [CAROL, DANA]},
    ) as server:
        yield server


@pytest.fixture
def tokens() -> RecordingTokens:
    return RecordingTokens()


@pytest.fixture
def release(store) -> Release:
    source = SourceRevision(
        repo_url="https://git.example/gitops.git",
        branch="main",
        commit="a" * 40,
        author="Dana",
        author_email="u0dana001@example.invalid",
    )
    release = Release(
        id="guestbook-approvals",
        product="guestbook",
        flow="flow",
        version="2.0.0",
        trigger_environment="dev",
        source=source,
        config_revision="c" * 40,
        status=ReleaseStatus.RUNNING,
        created_at=clock.now(),
        environments=[
            EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL),
            EnvironmentRun(name="prod", depends_on=("dev",), status=EnvironmentStatus.RUNNING),
        ],
    )
    store.create(release)
    return release


@pytest.fixture
def approvals(store, slack, tokens) -> Approvals:
    return Approvals(
        ApprovalStore("promotions-test"),
        store,
        PermissionsOnlyConfigs(),  # type: ignore[arg-type]
        lambda url: None,  # type: ignore[arg-type, return-value]
        SlackClient(slack.token, base_url=slack.api_url),
        tokens,
        release_url=lambda release_id: f"https://promotions.example/releases/{release_id}",
    )


def ask(
    approvals: Approvals,
    release: Release,
    *,
    quorum: int = 2,
    self_approval: bool = False,
    also: tuple[str, ...] = (),
) -> str:
    request = ApprovalRequest(
        check="prod-approval",
        users=(ALICE, BOB, *also),
        groups=("S0OPS0001",),
        min_approvals=quorum,
        allow_self_approval=self_approval,
        channel="C0DEPLOYS",
        text="Promote guestbook 2.0.0 to prod?",
        timeout_minutes=30,
    )
    return approvals.request(release.id, "prod", TOKEN, request)


def person(user: str, slack: SlackStandIn | None = None) -> Identity:
    """A Slack user as the callback knows them; in the groups the Slack stand-in lists them in."""
    members = SlackClient(slack.token, base_url=slack.api_url).group_members if slack else _no_groups
    return Identity(
        actor=f"{user.lower()} ({user})",
        name=user.lower(),
        slack_user=user,
        slack_groups=SlackUserGroups(user, members),
    )


def _no_groups(group: str) -> frozenset[str]:
    raise LookupError(group)


def test_asking_suspends_the_environment_and_the_release_and_posts_once(approvals, release, store, slack):
    reference = ask(approvals, release)
    assert ask(approvals, release) == reference, "a retried request asks once"

    stored = store.get(release.id)
    assert stored.status is ReleaseStatus.SUSPENDED
    assert stored.environment("prod").status is EnvironmentStatus.SUSPENDED
    [message] = slack.messages
    assert message.button("promotions-approve")["value"] == reference
    assert TOKEN not in str(message.versions), "the token never leaves AWS"
    assert "https://promotions.example/releases/guestbook-approvals" in message.text
    assert "The changes could not be read: no configuration at" in message.text


def test_the_quorum_counts_each_listed_person_once_and_answers_the_token_with_them(
    approvals, release, store, slack, tokens
):
    reference = ask(approvals, release)
    message = slack.messages[0]

    first = approvals.decide(reference, person(ALICE), "approve")
    again = approvals.decide(reference, person(ALICE), "approve")
    assert (first.recorded, again.recorded) == (True, False)
    assert again.detail == "u0alice01 (U0ALICE01) approved already"
    assert tokens.answered == []
    assert store.get(release.id).environment("prod").status is EnvironmentStatus.SUSPENDED
    assert "Approvals: 1 of 2 (u0alice01 (U0ALICE01))" in message.text

    granted = approvals.decide(reference, person(CAROL, slack), "approve")  # a member of the listed group
    assert granted.recorded
    [(token, output)] = tokens.answered
    assert token == TOKEN
    assert sorted(output["approvers"]) == ["u0alice01 (U0ALICE01)", "u0carol01 (U0CAROL01)"]
    stored = store.get(release.id)
    assert stored.environment("prod").status is EnvironmentStatus.RUNNING
    assert stored.status is ReleaseStatus.RUNNING
    assert "Approved by" in message.text and message.button("promotions-approve") is None

    late = approvals.decide(reference, person(BOB), "approve")
    assert (late.recorded, late.detail) == (False, "this approval was approved already")
    assert len(tokens.answered) == 1
    assert sorted(ApprovalStore("promotions-test").approvers(release.id, "prod")) == [
        "u0alice01 (U0ALICE01)",
        "u0carol01 (U0CAROL01)",
    ]


def test_people_who_may_not_approve_are_refused_and_the_message_says_why(approvals, release, slack, tokens):
    reference = ask(approvals, release, quorum=1)
    message = slack.messages[0]

    stranger = approvals.decide(reference, person(MALLORY), "approve")
    assert stranger.refused and "not a listed approver of prod" in stranger.detail
    assert "u0mallory (U0MALLORY) may not approve: not a listed approver of prod" in message.text

    author = approvals.decide(reference, person(DANA), "approve")  # in the group, but wrote the commit
    assert author.refused and "they wrote the commit this release promotes" in author.detail
    assert "Approvals: 0 of 1" in message.text
    assert tokens.answered == [] and tokens.refused == []


def test_a_listed_approver_no_permission_allows_is_refused_and_every_decision_is_on_the_audit_trail(
    approvals, release, store, slack, tokens
):
    reference = ask(approvals, release, quorum=1, also=(ERIN,))
    message = slack.messages[0]

    refused = approvals.decide(reference, person(ERIN), "approve")
    rejection = approvals.begin_rejection(reference, person(ERIN), "trigger-1")

    missing = (
        "no PromotionPermissions rule lets slackUser U0ERIN001 approve guestbook in prod (prod): a rule with verb "
        "approve, product guestbook, environment prod and that subject is missing"
    )
    assert refused.refused and refused.detail == f"u0erin001 (U0ERIN001) may not approve: {missing}"
    assert rejection.refused and rejection.detail == f"u0erin001 (U0ERIN001) may not reject: {missing}"
    assert f"u0erin001 (U0ERIN001) may not reject: {missing}" in message.text
    assert tokens.answered == [] and tokens.refused == []
    assert store.get(release.id).environment("prod").status is EnvironmentStatus.SUSPENDED

    assert approvals.decide(reference, person(ALICE), "approve").recorded
    trail = [
        (entry.actor, entry.action, entry.outcome, entry.permission, entry.detail)
        for entry in store.get(release.id).audit
    ]
    assert trail == [
        ("u0erin001 (U0ERIN001)", "approve", "refused", missing, "prod"),
        ("u0erin001 (U0ERIN001)", "reject", "refused", missing, "prod"),
        (
            "u0alice01 (U0ALICE01)",
            "approve",
            "allowed",
            "PromotionPermissions approvers rule 1",
            "approved by u0alice01 (U0ALICE01)",
        ),
    ]


def test_self_approval_counts_where_allowed(approvals, release, tokens):
    reference = ask(approvals, release, quorum=1, self_approval=True)
    assert approvals.decide(reference, person(DANA), "approve").recorded
    assert len(tokens.answered) == 1


def test_a_rejection_needs_a_reason_and_fails_the_token_naming_who_and_why(
    approvals, release, store, slack, tokens
):
    reference = ask(approvals, release)
    message = slack.messages[0]

    silent = approvals.decide(reference, person(BOB), "reject", "  ")
    assert silent.refused and silent.detail == "a rejection needs a reason"
    assert tokens.refused == []

    assert approvals.decide(reference, person(BOB), "reject", "error budget spent").recorded
    assert tokens.refused == [
        (TOKEN, "ApprovalRejected", "rejected by u0bob0001 (U0BOB0001): error budget spent")
    ]
    assert store.get(release.id).environment("prod").status is EnvironmentStatus.RUNNING
    assert "Rejected by u0bob0001 (U0BOB0001): error budget spent" in message.text
    assert not approvals.decide(reference, person(ALICE), "approve").recorded
    assert ApprovalStore("promotions-test").approvers(release.id, "prod") == []


def test_a_reject_click_asks_for_the_reason_unless_the_clicker_may_not_decide(approvals, release, slack):
    reference = ask(approvals, release)
    assert (
        approvals.begin_rejection(reference, person(BOB), "trigger-1").detail
        == "u0bob0001 (U0BOB0001) was asked why"
    )
    assert slack.views["trigger-1"]["private_metadata"] == reference
    refused = approvals.begin_rejection(reference, person(MALLORY), "trigger-2")
    assert refused.refused and "trigger-2" not in slack.views


def test_a_timeout_is_recorded_once_and_the_message_says_so(approvals, release, store, slack, tokens):
    ask(approvals, release)
    assert approvals.expire(release.id, "prod") == {
        "Error": "ApprovalTimedOut",
        "Cause": "approval timed out after 30 minutes",
    }
    assert "Approval timed out after 30 minutes." in slack.messages[0].text
    assert store.get(release.id).environment("prod").status is EnvironmentStatus.RUNNING
    with pytest.raises(ApprovalNotFound, match="no open approval for prod"):
        approvals.approve(release.id, "prod", person(ALICE))
    reference = slack.messages[0].blocks[-1]
    assert "timed out" in reference["text"]["text"]


def test_the_api_path_names_the_environment_and_raises_refusals(approvals, release, tokens):
    ask(approvals, release)
    with pytest.raises(ApprovalRefused, match="not a listed approver"):
        approvals.approve(release.id, "prod", person(MALLORY))
    assert (
        approvals.approve(release.id, "prod", person(ALICE)).detail
        == "u0alice01 (U0ALICE01) approved: 1 of 2"
    )
    with pytest.raises(ApprovalClosed, match="approved already"):
        approvals.approve(release.id, "prod", person(ALICE))
    approvals.reject(release.id, "prod", person(BOB), "not today")
    assert tokens.refused == [(TOKEN, "ApprovalRejected", "rejected by u0bob0001 (U0BOB0001): not today")]


def test_changes_are_shortened_to_what_a_message_shows():
    big = FileChange(
        "https://git.example/gitops.git",
        "main",
        "values.yaml",
        before=b"".join(f"line {n}\n".encode() for n in range(100)),
        after=b"".join(f"line {n} changed\n".encode() for n in range(100)),
    )
    shown = shortened_changes([big]).splitlines()
    assert len(shown) == 41
    assert shown[0] == "--- a/values.yaml"
    assert shown[-1].startswith("… ") and shown[-1].endswith(
        "more lines (promotions evaluate shows them all)"
    )
    whole = big.diff().splitlines()
    assert shown[-1] == f"… {len(whole) - 40} more lines (promotions evaluate shows them all)"


def test_a_group_slack_no_longer_has_lets_nobody_in(approvals, release, slack):
    reference = ask(approvals, release, quorum=1)
    del slack.groups["S0OPS0001"]
    refused = approvals.decide(reference, person(CAROL, slack), "approve")
    # Neither the permissions (through the group) nor the check's approvers let her in any more.
    assert (
        refused.refused
        and "u0carol01 (U0CAROL01) may not approve: no PromotionPermissions rule" in refused.detail
    )
    assert approvals.decide(reference, person(ALICE), "approve").recorded


def test_without_slack_people_decide_through_the_api_alone(store, release, tokens):
    approvals = Approvals(
        ApprovalStore("promotions-test"),
        store,
        PermissionsOnlyConfigs(),  # type: ignore[arg-type]
        lambda url: None,  # type: ignore[arg-type, return-value]
        None,
        tokens,
    )
    ask(approvals, release, quorum=1)
    assert store.get(release.id).environment("prod").status is EnvironmentStatus.SUSPENDED
    with pytest.raises(ApprovalRefused, match="may not approve"):
        approvals.approve(release.id, "prod", person(CAROL))  # a Slack group's member, and no Slack to ask
    approvals.approve(release.id, "prod", person(ALICE))
    assert tokens.answered == [(TOKEN, {"approvers": ["u0alice01 (U0ALICE01)"]})]


def test_a_terminated_release_withdraws_its_open_approvals_and_says_so(
    approvals, release, store, slack, tokens
):
    reference = ask(approvals, release)
    store.set_release_status(release.id, ReleaseStatus.TERMINATING, reason="terminated by ops: wrong build")
    approvals.withdraw(release.id)
    approvals.withdraw(release.id)
    message = slack.messages[0]
    assert len(message.versions) == 2, "withdrawn once"
    assert "The release was terminated: terminated by ops: wrong build" in message.text
    late = approvals.decide(reference, person(ALICE), "approve")
    assert (late.recorded, late.detail) == (False, "this approval was withdrawn already")
    assert tokens.answered == [] and tokens.refused == []


def test_who_asked_for_the_release_may_not_approve_it_either(approvals, store, slack, tokens):
    manager = MANAGER
    asked = Release(
        id="guestbook-asked-for",
        product="guestbook",
        flow="flow",
        version="2.1.0",
        trigger_environment="dev",
        source=SourceRevision(repo_url="https://git.example/gitops.git", branch="main", commit="b" * 40),
        config_revision="c" * 40,
        status=ReleaseStatus.RUNNING,
        created_at=clock.now(),
        environments=[
            EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL),
            EnvironmentRun(name="prod", depends_on=("dev",), status=EnvironmentStatus.RUNNING),
        ],
        audit=(AuditEntry(at=datetime.now(UTC), actor=manager, action="trigger"),),
    )
    store.create(asked)
    request = ApprovalRequest(
        check="prod-approval", users=(manager, ALICE), channel="C0DEPLOYS", text="Promote?", timeout_minutes=5
    )
    approvals.request(asked.id, "prod", "token-of-asked", request)

    with pytest.raises(ApprovalRefused, match="they wrote the commit this release promotes, or asked for it"):
        approvals.approve(asked.id, "prod", Identity(actor=manager, token_holder=manager))
    approvals.approve(asked.id, "prod", person(ALICE))
    assert [token for token, _ in tokens.answered] == ["token-of-asked"]
