"""A release as one Block Kit message in its product's channel, posted once and updated in place: the release's
status, then each environment's, as text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_ICONS = {
    "Pending": ":white_circle:",
    "Queued": ":white_circle:",
    "Running": ":large_blue_circle:",
    "Suspended": ":double_vertical_bar:",
    "Successful": ":large_green_circle:",
    "Succeeded": ":large_green_circle:",
    "Superseded": ":fast_forward:",
    "Failed": ":red_circle:",
    "Terminating": ":black_circle:",
    "Terminated": ":black_circle:",
}


@dataclass(frozen=True)
class EnvironmentLine:
    name: str
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class ReleaseMessage:
    product: str
    version: str
    flow: str
    status: str
    environments: tuple[EnvironmentLine, ...]
    release_url: str | None = None

    def fallback_text(self) -> str:
        return f"{self.product} {self.version}: {self.status}"

    def blocks(self) -> list[dict[str, Any]]:
        title = f"{self.product} {self.version}"
        linked = f"<{self.release_url}|{title}>" if self.release_url else title
        lines = [
            f"{_ICONS.get(run.status, '')} {run.name}: {run.status}{f' ({run.reason})' if run.reason else ''}"
            for run in self.environments
        ]
        return [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"{_ICONS.get(self.status, '')} *{linked}*: {self.status}",
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"flow {self.flow}"}]},
        ]
