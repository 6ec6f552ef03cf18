"""A stand-in for Slack on loopback: the Web API methods approvals call (slack-sdk's WebClient pointed at it
with `base_url`), recording every message and its updates and serving users and user groups; and the people
who click, whose clicks reach the interactivity callback signed with the app's signing secret, as Slack
sends them (form-encoded `payload`, `X-Slack-Signature`, `X-Slack-Request-Timestamp`)."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from promotions.release.model import Release
from promotions.release.status import EnvironmentStatus
from promotions.slack.messages import APPROVE, REASON_BLOCK, REASON_INPUT, REJECT
from promotions_local.loopback import LoopbackServer

# Takes the callback request's body and headers, answers its status and body (the HTTP API and function).
Callback = Callable[[bytes, Mapping[str, str]], tuple[int, bytes]]

TEAM = "T0LOCAL01"


@dataclass
class PostedMessage:
    """A message as the channel shows it now; `versions` holds every text and blocks it had, oldest first."""

    channel: str
    ts: str
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.versions[-1]["blocks"]

    @property
    def text(self) -> str:
        """Everything the message says now: its fallback text and every text in its blocks."""
        parts = [self.versions[-1].get("text") or ""]
        for block in self.blocks:
            if "text" in block:
                parts.append(block["text"]["text"])
            for element in [*block.get("fields", ()), *block.get("elements", ())]:
                if element.get("type") == "mrkdwn":
                    parts.append(element["text"])
        return "\n".join(parts)

    def button(self, action_id: str) -> dict[str, Any] | None:
        for block in self.blocks:
            for element in block.get("elements", ()):
                if element.get("action_id") == action_id:
                    return element
        return None


class SlackStandIn(LoopbackServer):
    """Users are {id: (name, email)}, groups {id: [user ids]}. `callback` is where clicks go; set it once the
    callback is served."""

    def __init__(
        self,
        users: Mapping[str, tuple[str, str]] | None = None,
        groups: Mapping[str, list[str]] | None = None,
        *,
        signing_secret: str | None = None,
    ) -> None:
        super().__init__()
        self.users = dict(users or {})
        self.groups = {group: list(members) for group, members in (groups or {}).items()}
        self.token = f"xoxb-local-{secrets.token_hex(8)}"
        self.signing_secret = signing_secret or secrets.token_hex(16)
        self.messages: list[PostedMessage] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        # Reason dialogs opened, by the trigger id of the click that opened them.
        self.views: dict[str, dict[str, Any]] = {}
        self.callback: Callback | None = None
        self._lock = threading.Lock()
        self._ts = itertools.count(1)

    @property
    def api_url(self) -> str:
        """What WebClient takes as `base_url`."""
        return f"{self.base_url}/api/"

    def message_for(self, environment: str) -> PostedMessage:
        """The latest approval message about `environment`."""
        for message in reversed(self.messages):
            if any(
                f"*Environment*\n{environment}" == field["text"]
                for block in message.blocks
                for field in block.get("fields", ())
            ):
                return message
        raise LookupError(f"no approval message about {environment}; posted: {len(self.messages)}")

    # The people's side: clicks, signed as Slack signs them.

    def approve(self, message: PostedMessage, user: str, **signing: Any) -> tuple[int, bytes]:
        return self.click(message, user, APPROVE, **signing)

    def reject(self, message: PostedMessage, user: str, reason: str) -> tuple[int, bytes]:
        """Click Reject, then type `reason` into the dialog the callback opens and submit it."""
        trigger_id = f"{next(self._ts)}.{secrets.token_hex(6)}"
        status, body = self.click(message, user, REJECT, trigger_id=trigger_id)
        view = self.views.get(trigger_id)
        if status != 200 or view is None:
            return status, body
        return self.submit(view, user, reason)

    def click(
        self,
        message: PostedMessage,
        user: str,
        action_id: str,
        *,
        trigger_id: str | None = None,
        **signing: Any,
    ) -> tuple[int, bytes]:
        button = message.button(action_id)
        if button is None:
            raise LookupError(f"the message has no {action_id} button (decided already?)")
        now = f"{time.time():.6f}"
        payload = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": "A0LOCAL01",
            "token": "local-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": trigger_id or f"{next(self._ts)}.{secrets.token_hex(6)}",
            "team": {"id": TEAM, "domain": "local"},
            "channel": {"id": message.channel, "name": "approvals"},
            "message": {
                "type": "message",
                "ts": message.ts,
                "text": message.versions[-1].get("text"),
                "blocks": message.blocks,
            },
            "actions": [
                {
                    "type": "button",
                    "block_id": "decision",
                    "action_id": action_id,
                    "value": button["value"],
                    "text": button["text"],
                    "action_ts": now,
                }
            ],
            "response_url": f"{self.base_url}/actions/{secrets.token_hex(6)}",
        }
        return self.send(payload, **signing)

    def submit(self, view: dict[str, Any], user: str, reason: str) -> tuple[int, bytes]:
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "local"},
            "user": self._user(user),
            "api_app_id": "A0LOCAL01",
            "token": "local-verification-token",
            "trigger_id": f"{next(self._ts)}.{secrets.token_hex(6)}",
            "view": {
                **view,
                "id": f"V{secrets.token_hex(5).upper()}",
                "team_id": TEAM,
                "state": {
                    "values": {REASON_BLOCK: {REASON_INPUT: {"type": "plain_text_input", "value": reason}}}
                },
            },
            "response_urls": [],
        }
        return self.send(payload)

    def send(
        self,
        payload: Mapping[str, Any],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signed: bool = True,
    ) -> tuple[int, bytes]:
        """Deliver an interaction to the callback, signed at `timestamp` (now) with `secret` (the app's)."""
        if self.callback is None:
            raise RuntimeError("no callback to deliver to: set SlackStandIn.callback")
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if signed:
            stamp = str(int(time.time()) if timestamp is None else timestamp)
            headers["X-Slack-Request-Timestamp"] = stamp
            headers["X-Slack-Signature"] = signature(secret or self.signing_secret, stamp, body)
        return self.callback(body, headers)

    def _user(self, user: str) -> dict[str, str]:
        name = self.users[user][0] if user in self.users else user.lower()
        return {"id": user, "username": name, "name": name, "team_id": TEAM}

    # The Web API's side.

    def _answer(self, method: str, token: str | None, arguments: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append((method, arguments))
            if token != self.token:
                return {"ok": False, "error": "invalid_auth"}
            if method == "chat.postMessage":
                message = PostedMessage(
                    channel=arguments["channel"], ts=f"{int(time.time())}.{next(self._ts):06d}"
                )
                message.versions.append(
                    {"text": arguments.get("text"), "blocks": _json(arguments.get("blocks"))}
                )
                self.messages.append(message)
                return {
                    "ok": True,
                    "channel": message.channel,
                    "ts": message.ts,
                    "message": message.versions[-1],
                }
            if method == "chat.update":
                for message in self.messages:
                    if (message.channel, message.ts) == (arguments.get("channel"), arguments.get("ts")):
                        message.versions.append(
                            {"text": arguments.get("text"), "blocks": _json(arguments.get("blocks"))}
                        )
                        return {"ok": True, "channel": message.channel, "ts": message.ts}
                return {"ok": False, "error": "message_not_found"}
            if method == "usergroups.users.list":
                members = self.groups.get(arguments.get("usergroup", ""))
                return (
                    {"ok": True, "users": members}
                    if members is not None
                    else {"ok": False, "error": "no_such_subteam"}
                )
            if method == "users.lookupByEmail":
                for user, (name, email) in self.users.items():
                    if email == arguments.get("email"):
                        return {"ok": True, "user": {"id": user, "name": name, "profile": {"email": email}}}
                return {"ok": False, "error": "users_not_found"}
            if method == "views.open":
                self.views[arguments["trigger_id"]] = _json(arguments["view"])
                return {"ok": True, "view": self.views[arguments["trigger_id"]]}
            return {"ok": False, "error": "unknown_method"}

    def _handler(self) -> Callable[..., BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                arguments: dict[str, Any] = {key: values[0] for key, values in parse_qs(url.query).items()}
                if raw and (self.headers.get("Content-Type") or "").startswith("application/json"):
                    arguments |= json.loads(raw)
                elif raw:
                    arguments |= {key: values[0] for key, values in parse_qs(raw.decode()).items()}
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                answer = server._answer(
                    url.path.removeprefix("/api/"), token if scheme == "Bearer" else None, arguments
                )
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature (v0=, the HMAC-SHA256 of v0:<timestamp>:<body>), as slack-sdk computes it."""
    signed = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    if signed is None:
        raise ValueError("slack-sdk made no signature: a timestamp and body are needed")
    return signed


def _json(value: Any) -> Any:
    """Blocks and views arrive as JSON text in a form body, as objects in a JSON one."""
    return json.loads(value) if isinstance(value, str) else value


CLICKED = {"approve": "clicked Approve on", "reject": "clicked Reject on"}


@dataclass(frozen=True)
class Click:
    """A person's click on an environment's approval message: `promotions local run --approve ENV=USER`."""

    environment: str
    user: str
    verdict: Literal["approve", "reject"]

    @classmethod
    def parse(cls, text: str, verdict: Literal["approve", "reject"]) -> Click:
        environment, _, user = text.partition("=")
        if not environment.strip() or not user.strip():
            raise ValueError(f"--{verdict} {text!r}: write ENVIRONMENT=SLACK_USER_ID, as prod=U012AB3CD")
        return cls(environment.strip(), user.strip(), verdict)


class Clicker:
    """Clicks, once each, as approval messages come: each environment's clicks in the order given."""

    def __init__(self, slack: SlackStandIn, clicks: list[Click], *, message_wait: float = 10) -> None:
        self._slack = slack
        self._pending = list(clicks)
        self._message_wait = message_wait

    def click_waiting(self, releases: list[Release]) -> list[str]:
        """Click for every Suspended environment with clicks pending; what each click did."""
        waiting = {
            run.name
            for release in releases
            for run in release.environments
            if run.status is EnvironmentStatus.SUSPENDED
        }
        done = []
        for click in [click for click in self._pending if click.environment in waiting]:
            self._pending.remove(click)
            message = self._message(click.environment)
            if click.verdict == "approve":
                status, _ = self._slack.approve(message, click.user)
            else:
                status, _ = self._slack.reject(
                    message, click.user, f"rejected by {click.user} with promotions local run"
                )
            # The message's last words: the outcome, why the click changed nothing, or the approvals so far.
            said = message.text.rsplit("\n", 1)[-1]
            done.append(f"{click.user} {CLICKED[click.verdict]} {click.environment} (HTTP {status}): {said}")
        return done

    def _message(self, environment: str) -> PostedMessage:
        # The environment shows Suspended just before its message is posted.
        deadline = time.monotonic() + self._message_wait
        while True:
            try:
                return self._slack.message_for(environment)
            except LookupError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
