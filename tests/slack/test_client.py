"""The Slack adapter's Web API calls, against the Slack stand-in on loopback."""

from __future__ import annotations

import pytest

from promotions.slack.client import GROUP_MEMBERS_TTL_SECONDS, SlackClient, SlackRefused, UnknownGroup
from promotions.slack.messages import ApprovalMessage
from promotions_local.slack_server import SlackStandIn


class Ticking:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def slack():
    with SlackStandIn(
        users={"U0ALICE01": ("alice", "alice@example.invalid")}, groups={"S0OPS0001": ["U0ALICE01"]}
    ) as server:
        yield server


def message(**changes) -> ApprovalMessage:
    fields = {
        "approval": "guestbook-1/abc",
        "headline": "Promote guestbook 1.0.0 to prod?",
        "product": "guestbook",
        "version": "1.0.0",
        "environment": "prod",
        "changes": "--- a/values.yaml\n+++ b/values.yaml",
        "min_approvals": 2,
    }
    return ApprovalMessage(**(fields | changes))


def test_a_message_is_posted_then_updated_in_place(slack):
    client = SlackClient(slack.token, base_url=slack.api_url)
    where = client.post("C0DEPLOYS", message())
    client.update(
        where, message(approved_by=("alice (U0ALICE01)",), outcome="Approved by alice (U0ALICE01).")
    )
    [posted] = slack.messages
    assert (posted.channel, posted.ts) == (where.channel, where.ts)
    assert len(posted.versions) == 2
    assert posted.button("promotions-approve") is None and "Approved by alice" in posted.text
    first = posted.versions[0]["blocks"]
    buttons = [
        element for block in first for element in block.get("elements", ()) if element.get("type") == "button"
    ]
    assert [(button["action_id"], button["value"]) for button in buttons] == [
        ("promotions-approve", "guestbook-1/abc"),
        ("promotions-reject", "guestbook-1/abc"),
    ]


def test_group_members_are_cached_for_a_while(slack):
    clock = Ticking()
    client = SlackClient(slack.token, base_url=slack.api_url, monotonic=clock)
    assert client.group_members("S0OPS0001") == {"U0ALICE01"}
    slack.groups["S0OPS0001"].append("U0BOB0001")
    assert client.group_members("S0OPS0001") == {"U0ALICE01"}
    clock.seconds = GROUP_MEMBERS_TTL_SECONDS + 1
    assert client.group_members("S0OPS0001") == {"U0ALICE01", "U0BOB0001"}
    assert [method for method, _ in slack.calls].count("usergroups.users.list") == 2


def test_users_are_found_by_email_or_not_at_all(slack):
    client = SlackClient(slack.token, base_url=slack.api_url)
    assert client.user_by_email("alice@example.invalid") == "U0ALICE01"
    assert client.user_by_email("nobody@example.invalid") is None


def test_slacks_refusals_name_the_method_and_slacks_error(slack):
    client = SlackClient("xoxb-revoked", base_url=slack.api_url)
    with pytest.raises(SlackRefused, match="Slack chat.postMessage: invalid_auth"):
        client.post("C0DEPLOYS", message())


def test_an_unknown_group_is_said_so(slack):
    with pytest.raises(UnknownGroup, match="Slack has no user group S0NOSUCH1"):
        SlackClient(slack.token, base_url=slack.api_url).group_members("S0NOSUCH1")
