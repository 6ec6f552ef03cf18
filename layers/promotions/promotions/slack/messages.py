"""An approval request as a Block Kit message: what is promoted where, the changes it writes, who approved so
far, and the buttons; once decided, the outcome in place of the buttons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The buttons' action_ids: the callback reads the verdict from them.
APPROVE = "promotions-approve"
REJECT = "promotions-reject"
# The modal that asks a rejecter for the reason, and its one input.
REASON_VIEW = "promotions-reject-reason"
REASON_BLOCK = "reason"
REASON_INPUT = "reason"

# A section's text may hold 3000 characters; the changes leave room for the code fence.
_SECTION_LIMIT = 3000


@dataclass(frozen=True)
class MessageRef:
    """Where a posted message is, for updating it."""

    channel: str
    ts: str


@dataclass(frozen=True)
class ApprovalMessage:
    """`approval` is the opaque reference the buttons carry back; `changes` is plain text (a diff), shortened by
    the caller; `outcome` replaces the buttons once the approval is decided; `note` says why the last click
    changed nothing."""

    approval: str
    headline: str
    product: str
    version: str
    environment: str
    changes: str
    min_approvals: int
    approved_by: tuple[str, ...] = ()
    release_url: str | None = None
    outcome: str | None = None
    note: str | None = None

    def fallback_text(self) -> str:
        """The notification text, for clients that show no blocks."""
        return self.outcome or self.headline

    def blocks(self) -> list[dict[str, Any]]:
        facts = [
            f"*Product*\n{self.product}",
            f"*Version*\n{self.version}",
            f"*Environment*\n{self.environment}",
        ]
        if self.release_url:
            facts.append(f"*Release*\n<{self.release_url}|details>")
        blocks: list[dict[str, Any]] = [
            _section(self.headline),
            {"type": "section", "fields": [_markdown(fact) for fact in facts]},
            _section(
                _code(self.changes) if self.changes else "_Nothing to write: the environment has it already._"
            ),
            _context(
                f"Approvals: {len(self.approved_by)} of {self.min_approvals}"
                + (f" ({', '.join(self.approved_by)})" if self.approved_by else "")
            ),
        ]
        if self.note:
            blocks.append(_context(f":warning: {self.note}"))
        if self.outcome:
            blocks.append(_section(self.outcome))
        else:
            blocks.append(
                {
                    "type": "actions",
                    "block_id": "decision",
                    "elements": [
                        _button("Approve", APPROVE, self.approval, style="primary"),
                        _button("Reject", REJECT, self.approval, style="danger"),
                    ],
                }
            )
        return blocks


def reason_view(approval: str, environment: str) -> dict[str, Any]:
    """The modal a Reject click opens: the rejection needs a reason, and the view carries the approval back."""
    return {
        "type": "modal",
        "callback_id": REASON_VIEW,
        "private_metadata": approval,
        "title": {"type": "plain_text", "text": "Reject promotion"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": f"Why should this not reach {environment}?"[:2000]},
                "element": {"type": "plain_text_input", "action_id": REASON_INPUT, "multiline": True},
            }
        ],
    }


def _markdown(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _markdown(text[:_SECTION_LIMIT])}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_markdown(text[:_SECTION_LIMIT])]}


def _code(text: str) -> str:
    fence = "```"
    return f"{fence}{text[: _SECTION_LIMIT - 2 * len(fence)]}{fence}"


def _button(label: str, action_id: str, value: str, *, style: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
        "style": style,
    }
