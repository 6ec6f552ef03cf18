"""Approvals: an environment waits on a task token until enough listed people approve, one rejects, or the
approval times out.

The gate asks (`request`): the token is stored under an opaque approval id, the message goes to Slack, and
the environment and the release show Suspended. People decide through Slack's buttons or the API
(`decide`, `approve`, `reject`), each decision recorded once whatever the number of clicks: at the quorum
the token is answered with the approvers, a rejection fails it naming who and why. A timeout ends it
(`expire`). The token never leaves AWS: Slack's buttons carry the approval's reference alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from aws_lambda_powertools import Logger

from promotions.config import Verb
from promotions.config.repository import ConfigRepository
from promotions.release.approval_store import (
    ApprovalNotFound,
    ApprovalRequest,
    ApprovalStore,
    Approver,
    StoredApproval,
    approval_id_for,
    parse_reference,
)
from promotions.release.engine import TaskTokens
from promotions.release.errors import ApprovalClosed, ApprovalRefused
from promotions.release.model import AuditEntry, Release
from promotions.release.permissions import Authorization, Identity, PermissionRefused
from promotions.release.promotion import FileChange, RemoteFactory, preview_promotion
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.store import ReleaseStore
from promotions.slack.messages import ApprovalMessage, MessageRef

logger = Logger(child=True)

# The error a rejection fails the waiting task with, and the one a timeout hands to the gate.
REJECTED_ERROR = "ApprovalRejected"
TIMED_OUT_ERROR = "ApprovalTimedOut"
# How much of the promotion's diff a message shows.
CHANGES_MAX_LINES = 40
CHANGES_MAX_CHARACTERS = 2500

_ENDING = (ReleaseStatus.SUCCEEDED, ReleaseStatus.FAILED, ReleaseStatus.TERMINATING, ReleaseStatus.TERMINATED)

Verdict = Literal["approve", "reject"]
# The audit trail's verbs by which someone asks for a release of their own.
_ASKED_FOR = (Verb.TRIGGER, Verb.PROMOTE, Verb.ROLLBACK)


@dataclass(frozen=True)
class Decision:
    """What a decision did. `recorded` changed the approval (an approval counted, the quorum reached, a
    rejection); otherwise `detail` says why nothing changed."""

    recorded: bool
    detail: str
    # Refused for who the approver is (not listed, self-approval), rather than for when they came.
    refused: bool = False


class ApprovalMessenger(Protocol):
    """promotions.slack.SlackClient's shape, as approvals use it."""

    def post(self, channel: str, message: ApprovalMessage) -> MessageRef: ...

    def update(self, where: MessageRef, message: ApprovalMessage) -> None: ...

    def group_members(self, group: str) -> frozenset[str]:
        """Raises LookupError for a group the workspace does not have."""
        ...

    def user_by_email(self, email: str) -> str | None: ...

    def ask_reason(self, trigger_id: str, approval: str, environment: str) -> None: ...


def _approver(identity: Identity) -> Approver:
    """Who decides, as approvers are listed: a Slack user by their ID, anyone else by their own name."""
    if identity.slack_user is not None:
        return Approver(identity.slack_user, identity.name or identity.slack_user)
    return Approver(identity.actor, identity.actor)


def shortened_changes(changes: Iterable[FileChange]) -> str:
    """The promotion's unified diff, cut to what a message shows, saying how much was left out."""
    lines = [line for change in changes for line in change.diff().splitlines()]
    kept: list[str] = []
    size = 0
    for line in lines:
        if len(kept) == CHANGES_MAX_LINES or size + len(line) + 1 > CHANGES_MAX_CHARACTERS:
            break
        kept.append(line)
        size += len(line) + 1
    if len(kept) < len(lines):
        kept.append(f"… {len(lines) - len(kept)} more lines (promotions evaluate shows them all)")
    return "\n".join(kept)


class Approvals:
    def __init__(
        self,
        approvals: ApprovalStore,
        releases: ReleaseStore,
        configs: ConfigRepository,
        remotes: RemoteFactory,
        messenger: ApprovalMessenger | None,
        tokens: TaskTokens,
        *,
        release_url: Callable[[str], str | None] = lambda release_id: None,
    ) -> None:
        self._approvals = approvals
        self._releases = releases
        self._configs = configs
        self._remotes = remotes
        # None where no Slack app is configured: people decide through the API alone.
        self._messenger = messenger
        self._tokens = tokens
        self._release_url = release_url
        self._authorization = Authorization(releases)

    def request(self, release_id: str, environment: str, token: str, request: ApprovalRequest) -> str:
        """Ask for the approval `token` waits on: the environment and release show Suspended, and the message
        goes to the channel. Asking again with the same token asks once. Returns the approval's reference."""
        release = self._releases.get(release_id)
        try:
            approval = self._approvals.get(release_id, approval_id_for(token))
        except ApprovalNotFound:
            email = release.source.author_email
            committer = self._messenger.user_by_email(email) if email and self._messenger else None
            self._approvals.create(
                release_id,
                environment,
                token,
                request,
                authors=[
                    *([committer] if committer else []),
                    *(entry.actor for entry in release.audit if entry.action in _ASKED_FOR),
                ],
                changes=self._changes(release, environment),
            )
            approval = self._approvals.get(release_id, approval_id_for(token))
        self._releases.set_environment_status(
            release_id, environment, EnvironmentStatus.SUSPENDED, only_from=(EnvironmentStatus.RUNNING,)
        )
        self._releases.set_release_status(
            release_id, ReleaseStatus.SUSPENDED, unless=(*_ENDING, ReleaseStatus.QUEUED)
        )
        if approval.message is None and self._messenger is not None:
            where = self._messenger.post(request.channel, self._message(release, approval))
            self._approvals.record_message(approval, where)
        logger.info(
            "approval requested",
            extra={
                "release": release_id,
                "environment": environment,
                "approval": approval.id,
                "check": request.check,
            },
        )
        return approval.reference

    def expire(self, release_id: str, environment: str) -> dict[str, str]:
        """The environment's latest approval ran out of time (its task timed out): recorded, unless a decision
        came first, the message says so, and the gate is handed the failure to report."""
        approvals = [
            approval
            for approval in self._approvals.of_release(release_id)
            if approval.environment == environment
        ]
        if not approvals:
            raise ApprovalNotFound(f"release {release_id} asked no approval for {environment}")
        approval = approvals[-1]
        reason = f"approval timed out after {approval.request.timeout_minutes} minutes"
        if self._approvals.decide(approval, "timed out", None, reason):
            self._resume(approval)
            self._show(approval, outcome=f":hourglass: {reason[0].upper()}{reason[1:]}.")
        return {"Error": TIMED_OUT_ERROR, "Cause": reason}

    def withdraw(self, release_id: str) -> None:
        """The release was terminated while people were asked (its execution, and the tokens with it, are
        stopped): its open approvals are closed, and their messages say so."""
        release = self._releases.get(release_id)
        why = release.reason or "terminated"
        for approval in self._approvals.of_release(release_id):
            if approval.decision is None and self._approvals.decide(approval, "withdrawn", None, why):
                self._show(approval, outcome=f":no_entry: The release was terminated: {why}")

    def decide(
        self, reference: str, identity: Identity, verdict: Verdict, reason: str | None = None
    ) -> Decision:
        """Record one person's decision: counted once however often it comes, refused (and said so on the
        message) when they may not decide, and nothing at all once the approval is decided. Both must let them
        decide: the configuration's permissions (verb `approve`, for a rejection too) and the approval check's
        own approvers. The decision goes on the release's audit trail."""
        approval = self._approvals.get(*parse_reference(reference))
        if approval.decision is not None:
            return Decision(recorded=False, detail=f"this approval was {approval.decision} already")
        try:
            asked = self._permitted(approval, identity, verdict)
        except PermissionRefused as refused:
            return self._refused_by_permissions(approval, identity, verdict, refused)
        decision = self._decide(approval, _approver(identity), verdict, reason)
        outcome = "refused" if decision.refused else "allowed"
        self._releases.record_audit(
            approval.release_id, asked.model_copy(update={"detail": decision.detail, "outcome": outcome})
        )
        return decision

    def _decide(
        self, approval: StoredApproval, approver: Approver, verdict: Verdict, reason: str | None
    ) -> Decision:
        refusal = self._refusal(approval, approver)
        if refusal is not None:
            self._show(approval, note=refusal)
            return Decision(recorded=False, detail=refusal, refused=True)
        if verdict == "reject":
            return self._reject(approval, approver, (reason or "").strip())
        if approver.id in approval.approvers:
            return Decision(recorded=False, detail=f"{approver} approved already")
        approvers = self._approvals.add_approver(approval, approver)
        if approvers is None:
            return Decision(recorded=False, detail="this approval was decided meanwhile")
        approval = self._approvals.get(approval.release_id, approval.id)
        needed = approval.request.min_approvals
        if len(approvers) < needed or not self._approvals.decide(approval, "approved", approver.id):
            self._show(approval)
            return Decision(recorded=True, detail=f"{approver} approved: {len(approvers)} of {needed}")
        self._resume(approval)
        named = [str(Approver(user, name)) for user, name in approvers.items()]
        self._tokens.answer(approval.token, {"approvers": named})
        names = ", ".join(named)
        self._show(approval, outcome=f":white_check_mark: Approved by {names}.")
        logger.info("approval granted", extra={"release": approval.release_id, "approvers": list(approvers)})
        return Decision(recorded=True, detail=f"approved by {names}")

    def approve(self, release_id: str, environment: str, identity: Identity) -> Decision:
        """`decide` for the environment's open approval (the API and CLI name the environment, not the
        message); refusals raise."""
        return self._raising(self.decide(self._open(release_id, environment).reference, identity, "approve"))

    def reject(self, release_id: str, environment: str, identity: Identity, reason: str) -> Decision:
        return self._raising(
            self.decide(self._open(release_id, environment).reference, identity, "reject", reason)
        )

    def begin_rejection(self, reference: str, identity: Identity, trigger_id: str) -> Decision:
        """A Reject click: ask the rejecter for the reason (the rejection is recorded with it), unless they may
        not decide, which the message then says."""
        approval = self._approvals.get(*parse_reference(reference))
        if approval.decision is not None:
            return Decision(recorded=False, detail=f"this approval was {approval.decision} already")
        try:
            self._permitted(approval, identity, "reject")
        except PermissionRefused as refused:
            return self._refused_by_permissions(approval, identity, "reject", refused)
        approver = _approver(identity)
        refusal = self._refusal(approval, approver)
        if refusal is not None:
            self._show(approval, note=refusal)
            return Decision(recorded=False, detail=refusal, refused=True)
        if self._messenger is None:
            raise ValueError("a rejection's reason dialog is Slack's, and no Slack app is configured")
        self._messenger.ask_reason(trigger_id, reference, approval.environment)
        return Decision(recorded=False, detail=f"{approver} was asked why")

    def _reject(self, approval: StoredApproval, approver: Approver, reason: str) -> Decision:
        if not reason:
            return Decision(recorded=False, detail="a rejection needs a reason", refused=True)
        if not self._approvals.decide(approval, "rejected", approver.id, reason):
            return Decision(recorded=False, detail="this approval was decided meanwhile")
        cause = f"rejected by {approver}: {reason}"
        self._resume(approval)
        self._tokens.refuse(approval.token, REJECTED_ERROR, cause)
        self._show(approval, outcome=f":x: Rejected by {approver}: {reason}")
        logger.info("approval rejected", extra={"release": approval.release_id, "by": approver.id})
        return Decision(recorded=True, detail=cause)

    def _permitted(self, approval: StoredApproval, identity: Identity, verdict: Verdict) -> AuditEntry:
        """The audit entry of a decision the permissions allow; PermissionRefused (recorded) otherwise."""
        _, configuration = self._configs.latest()
        return self._authorization.on_release(
            configuration,
            identity,
            Verb.APPROVE,
            self._releases.get(approval.release_id),
            [approval.environment],
            approval.environment,
            action=verdict,
        )

    def _refused_by_permissions(
        self, approval: StoredApproval, identity: Identity, verdict: Verdict, refused: PermissionRefused
    ) -> Decision:
        note = f"{_approver(identity)} may not {verdict}: {refused}"
        self._show(approval, note=note)
        return Decision(recorded=False, detail=note, refused=True)

    def _refusal(self, approval: StoredApproval, approver: Approver) -> str | None:
        request = approval.request
        if approver.id not in request.users and not any(
            approver.id in self._members(group) for group in request.groups
        ):
            return f"{approver} may not approve: not a listed approver of {approval.environment}"
        if not request.allow_self_approval and approver.id in approval.authors:
            return f"{approver} may not approve: they wrote the commit this release promotes, or asked for it"
        return None

    def _members(self, group: str) -> frozenset[str]:
        if self._messenger is None:
            return frozenset()
        try:
            return self._messenger.group_members(group)
        except LookupError as unknown:
            # A group deleted since the configuration named it lets nobody in.
            logger.warning("approver group unknown", extra={"group": group, "error": str(unknown)})
            return frozenset()

    def _open(self, release_id: str, environment: str) -> StoredApproval:
        for approval in reversed(self._approvals.of_release(release_id)):
            if approval.environment == environment and approval.decision is None:
                return approval
        raise ApprovalNotFound(f"release {release_id} has no open approval for {environment}")

    @staticmethod
    def _raising(decision: Decision) -> Decision:
        if decision.refused:
            raise ApprovalRefused(decision.detail)
        if not decision.recorded:
            raise ApprovalClosed(decision.detail)
        return decision

    def _resume(self, approval: StoredApproval) -> None:
        """Decided: the environment runs on (to its promotion, or to its failure), and so does the release
        unless another environment still waits for people."""
        self._releases.set_environment_status(
            approval.release_id,
            approval.environment,
            EnvironmentStatus.RUNNING,
            only_from=(EnvironmentStatus.SUSPENDED,),
        )
        release = self._releases.get(approval.release_id)
        if not any(run.status is EnvironmentStatus.SUSPENDED for run in release.environments):
            self._releases.set_release_status(
                approval.release_id, ReleaseStatus.RUNNING, unless=(*_ENDING, ReleaseStatus.QUEUED)
            )

    def _show(self, approval: StoredApproval, *, outcome: str | None = None, note: str | None = None) -> None:
        approval = self._approvals.get(approval.release_id, approval.id)
        if approval.message is None or self._messenger is None:
            return
        release = self._releases.get(approval.release_id)
        self._messenger.update(approval.message, self._message(release, approval, outcome=outcome, note=note))

    def _message(
        self,
        release: Release,
        approval: StoredApproval,
        *,
        outcome: str | None = None,
        note: str | None = None,
    ) -> ApprovalMessage:
        return ApprovalMessage(
            approval=approval.reference,
            headline=approval.request.text,
            product=release.product,
            version=release.version,
            environment=approval.environment,
            changes=approval.changes,
            min_approvals=approval.request.min_approvals,
            approved_by=tuple(str(Approver(user, name)) for user, name in approval.approvers.items()),
            release_url=self._release_url(release.id),
            outcome=outcome,
            note=note,
        )

    def _changes(self, release: Release, environment: str) -> str:
        run = release.environment(environment)
        if run.commit:
            return f"Promoted as commit {run.commit}"
        try:
            configuration = self._configs.at(release.config_revision)
            changes = preview_promotion(
                configuration, release.product, release.trigger_environment, environment, self._remotes
            )
        except Exception as error:  # noqa: BLE001 - the message still asks; the diff is a courtesy
            logger.warning("changes could not be read", extra={"error": str(error)})
            return f"The changes could not be read: {error}"
        return shortened_changes(changes)
