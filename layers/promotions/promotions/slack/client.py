"""Slack's Web API through slack-sdk's WebClient: the few methods approvals and release messages use."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from promotions.errors import TransientError
from promotions.slack.messages import MessageRef, reason_view

# Who is in a user group changes rarely; each click must not cost a call.
GROUP_MEMBERS_TTL_SECONDS = 300


class SlackUnavailable(TransientError):
    """Slack rate-limited the call, failed, or could not be reached: the same call may succeed later."""


class SlackRefused(RuntimeError):
    """Slack answered the call with an error a retry will not cure (an unknown channel, a revoked token)."""


class UnknownGroup(LookupError):
    """The workspace has no such user group (or the app cannot see it)."""


class SlackMessage(Protocol):
    def fallback_text(self) -> str: ...

    def blocks(self) -> list[dict[str, Any]]: ...


class SlackClient:
    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._web = WebClient(token=token, base_url=base_url or WebClient.BASE_URL)
        self._monotonic = monotonic
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._groups_lock = threading.Lock()

    def post(self, channel: str, message: SlackMessage) -> MessageRef:
        response = self._call(
            "chat.postMessage",
            lambda: self._web.chat_postMessage(
                channel=channel, text=message.fallback_text(), blocks=message.blocks()
            ),
        )
        return MessageRef(channel=str(response["channel"]), ts=str(response["ts"]))

    def update(self, where: MessageRef, message: SlackMessage) -> None:
        self._call(
            "chat.update",
            lambda: self._web.chat_update(
                channel=where.channel, ts=where.ts, text=message.fallback_text(), blocks=message.blocks()
            ),
        )

    def ask_reason(self, trigger_id: str, approval: str, environment: str) -> None:
        """Open the modal a rejection's reason is typed into; its submission comes back to the callback."""
        self._call(
            "views.open",
            lambda: self._web.views_open(trigger_id=trigger_id, view=reason_view(approval, environment)),
        )

    def group_members(self, group: str) -> frozenset[str]:
        """The user IDs of a user group, cached for GROUP_MEMBERS_TTL_SECONDS; UnknownGroup when there is none."""
        now = self._monotonic()
        with self._groups_lock:
            cached = self._groups.get(group)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = self._call(
                "usergroups.users.list", lambda: self._web.usergroups_users_list(usergroup=group)
            )
        except SlackRefused as refused:
            if str(refused).endswith(": no_such_subteam"):
                raise UnknownGroup(f"Slack has no user group {group}") from refused
            raise
        members = frozenset(str(user) for user in response.get("users") or ())
        with self._groups_lock:
            self._groups[group] = (now + GROUP_MEMBERS_TTL_SECONDS, members)
        return members

    def user_by_email(self, email: str) -> str | None:
        """The ID of the Slack user with this e-mail address, or None when the workspace has none."""
        try:
            response = self._web.users_lookupByEmail(email=email)
        except SlackApiError as error:
            if error.response.get("error") == "users_not_found":
                return None
            raise _failure("users.lookupByEmail", error) from error
        except (URLError, OSError) as error:
            raise SlackUnavailable(f"Slack users.lookupByEmail: {error}") from error
        return str(response["user"]["id"])

    @staticmethod
    def _call(method: str, call: Callable[[], SlackResponse]) -> dict[str, Any]:
        try:
            response = call()
        except SlackApiError as error:
            raise _failure(method, error) from error
        except (URLError, OSError) as error:
            raise SlackUnavailable(f"Slack {method}: {error}") from error
        if not isinstance(response.data, dict):
            raise SlackRefused(f"Slack {method}: the answer is not a JSON object")
        return response.data


def _failure(method: str, error: SlackApiError) -> Exception:
    status = error.response.status_code
    code = error.response.get("error") or f"HTTP {status}"
    if status == 429 or status >= 500 or code in ("ratelimited", "service_unavailable", "fatal_error"):
        return SlackUnavailable(f"Slack {method}: {code}")
    return SlackRefused(f"Slack {method}: {code}")
