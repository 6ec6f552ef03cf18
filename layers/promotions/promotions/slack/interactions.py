"""Slack's interaction callback: whether a request is Slack's own, and what an approval's click or its
rejection reason says.

Slack signs each request with the app's signing secret (`X-Slack-Signature` over `v0:<timestamp>:<body>`,
`X-Slack-Request-Timestamp`); slack-sdk's SignatureVerifier checks both, and refuses a timestamp more than
five minutes from now, so a recorded request cannot be replayed later. The body is form-encoded, its
`payload` field the interaction as JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from promotions.slack.messages import APPROVE, REASON_BLOCK, REASON_INPUT, REASON_VIEW, REJECT

Verdict = Literal["approve", "reject"]
_VERDICTS: Mapping[str, Verdict] = {APPROVE: "approve", REJECT: "reject"}


class UnusableInteraction(ValueError):
    """An authentic request this callback has nothing to do with, or one missing what it needs."""


@dataclass(frozen=True)
class ApprovalClick:
    user: str
    user_name: str
    approval: str
    verdict: Verdict
    # What a Reject click opens its reason dialog with (valid for 3 seconds).
    trigger_id: str


@dataclass(frozen=True)
class ReasonSubmitted:
    user: str
    user_name: str
    approval: str
    reason: str


Interaction = ApprovalClick | ReasonSubmitted


class _Now(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def request_is_authentic(
    signing_secret: str,
    body: str | bytes,
    headers: Mapping[str, str],
    *,
    now: Callable[[], float] = time.time,
) -> bool:
    """Whether Slack signed `body` with `signing_secret`, less than five minutes ago."""
    lowered = {name.lower(): value for name, value in headers.items()}
    verifier = SignatureVerifier(signing_secret, clock=_Now(now))
    return verifier.is_valid(body, lowered.get("x-slack-request-timestamp"), lowered.get("x-slack-signature"))


def parse_interaction(body: str) -> Interaction:
    """A button click on an approval message, or the submitted rejection reason; anything else is refused
    with what was wrong."""
    fields = parse_qs(body)
    if "payload" not in fields:
        raise UnusableInteraction("the body has no payload field: Slack sends interactions as payload=<JSON>")
    try:
        payload = json.loads(fields["payload"][0])
    except ValueError as error:
        raise UnusableInteraction(f"payload is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise UnusableInteraction("payload is not a JSON object")
    user = payload.get("user") or {}
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id:
        raise UnusableInteraction("payload.user.id is missing: who clicked is unknown")
    user_name = str(user.get("username") or user.get("name") or user_id)
    kind = payload.get("type")
    if kind == "block_actions":
        for action in payload.get("actions") or ():
            verdict = _VERDICTS.get(action.get("action_id", ""))
            if verdict is not None:
                if not action.get("value"):
                    raise UnusableInteraction(f"the {verdict} button carries no approval in its value")
                return ApprovalClick(
                    user=user_id,
                    user_name=user_name,
                    approval=action["value"],
                    verdict=verdict,
                    trigger_id=payload.get("trigger_id", ""),
                )
        names = ", ".join(str(action.get("action_id")) for action in payload.get("actions") or ()) or "none"
        raise UnusableInteraction(f"no approval button among the actions ({names})")
    if kind == "view_submission":
        view = payload.get("view") or {}
        if view.get("callback_id") != REASON_VIEW:
            raise UnusableInteraction(f"view {view.get('callback_id')!r} is not the rejection reason dialog")
        value = (
            ((view.get("state") or {}).get("values") or {})
            .get(REASON_BLOCK, {})
            .get(REASON_INPUT, {})
            .get("value")
        )
        if not view.get("private_metadata"):
            raise UnusableInteraction("the reason dialog carries no approval in its private_metadata")
        return ReasonSubmitted(
            user=user_id, user_name=user_name, approval=view["private_metadata"], reason=(value or "").strip()
        )
    raise UnusableInteraction(
        f"interaction type {kind!r} is not handled: approvals take block_actions and view_submission"
    )


def reason_refused(detail: str) -> dict[str, Any]:
    """The answer to a reason dialog's submission that changed nothing: the dialog stays open, saying why."""
    return {"response_action": "errors", "errors": {REASON_BLOCK: detail[:150]}}
