"""The interaction callback's reading of Slack's requests: Slack's published signing example, and real
block_actions and view_submission payloads."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from promotions.slack.interactions import (
    ApprovalClick,
    ReasonSubmitted,
    UnusableInteraction,
    parse_interaction,
    request_is_authentic,
)
from promotions.slack.messages import APPROVE, REASON_BLOCK, REASON_INPUT, REASON_VIEW, REJECT


@pytest.fixture
def signing_example(upstream_events) -> dict:
    return json.loads((upstream_events / "slack-request-signing-example.json").read_text())


def form(payload: dict) -> str:
    return urlencode({"payload": json.dumps(payload)})


def test_slacks_published_signing_example_verifies(signing_example):
    headers = signing_example["headers"]
    sent_at = int(headers["X-Slack-Request-Timestamp"])
    assert request_is_authentic(
        signing_example["signing_secret"], signing_example["body"], headers, now=lambda: sent_at + 10
    )


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda example: {**example, "body": example["body"] + "&user_id=U0MALLORY"}, id="body changed"
        ),
        pytest.param(
            lambda example: {**example, "signing_secret": "another-apps-secret"}, id="another secret"
        ),
        pytest.param(
            lambda example: {
                **example,
                "headers": {"X-Slack-Request-Timestamp": example["headers"]["X-Slack-Request-Timestamp"]},
            },
            id="no signature",
        ),
        pytest.param(
            lambda example: {
                **example,
                "headers": {"X-Slack-Signature": example["headers"]["X-Slack-Signature"]},
            },
            id="no timestamp",
        ),
    ],
)
def test_anything_but_slacks_own_request_is_refused(signing_example, tamper):
    example = tamper(signing_example)
    sent_at = int(signing_example["headers"]["X-Slack-Request-Timestamp"])
    assert not request_is_authentic(
        example["signing_secret"], example["body"], example["headers"], now=lambda: sent_at
    )


def test_a_signature_more_than_five_minutes_old_is_refused(signing_example):
    sent_at = int(signing_example["headers"]["X-Slack-Request-Timestamp"])
    lowered = {name.lower(): value for name, value in signing_example["headers"].items()}

    def verify(now: int) -> bool:
        return request_is_authentic(
            signing_example["signing_secret"], signing_example["body"], lowered, now=lambda: now
        )

    assert verify(sent_at + 300)
    assert not verify(sent_at + 301)
    assert not verify(sent_at + 600)


def test_slacks_block_actions_payload_names_its_button_and_is_not_an_approval(upstream_events):
    payload = json.loads((upstream_events / "slack-block-actions-button.json").read_text())
    with pytest.raises(UnusableInteraction, match=r"no approval button among the actions \(info\)"):
        parse_interaction(form(payload))


@pytest.mark.parametrize(("action_id", "verdict"), [(APPROVE, "approve"), (REJECT, "reject")])
def test_a_click_on_an_approval_button_reads_who_which_approval_and_the_verdict(
    upstream_events, action_id, verdict
):
    payload = json.loads((upstream_events / "slack-block-actions-button.json").read_text())
    payload["actions"][0] |= {"action_id": action_id, "value": "guestbook-1/abc"}
    assert parse_interaction(form(payload)) == ApprovalClick(
        user="U00FAKEUSER1",
        user_name="testuser",
        approval="guestbook-1/abc",
        verdict=verdict,
        trigger_id="10215325802133.3901254001572.2e2548aa918b35fd85829545c2d4ae2b",
    )


def test_the_reason_dialog_submission_reads_the_reason(upstream_events):
    payload = json.loads((upstream_events / "slack-view-submission.json").read_text())
    with pytest.raises(UnusableInteraction, match="'feedback_form' is not the rejection reason dialog"):
        parse_interaction(form(payload))
    payload["view"] |= {
        "callback_id": REASON_VIEW,
        "private_metadata": "guestbook-1/abc",
        "state": {
            "values": {REASON_BLOCK: {REASON_INPUT: {"type": "plain_text_input", "value": " budget spent "}}}
        },
    }
    submitted = parse_interaction(form(payload))
    assert isinstance(submitted, ReasonSubmitted)
    assert (submitted.approval, submitted.reason) == ("guestbook-1/abc", "budget spent")
    assert submitted.user == payload["user"]["id"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("token=x&command=%2Fdeploy", "no payload field"),
        ("payload=not-json", "payload is not JSON"),
        (form({"type": "block_actions", "actions": []}), "payload.user.id is missing"),
        (form({"type": "shortcut", "user": {"id": "U1"}}), "interaction type 'shortcut' is not handled"),
        (
            form({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": APPROVE}]}),
            "the approve button carries no approval",
        ),
    ],
)
def test_unusable_interactions_say_what_is_wrong(body, problem):
    with pytest.raises(UnusableInteraction, match=problem):
        parse_interaction(body)
