"""argoCdHealth: deploy verification. An environment's post-action waits until its Argo CD applications are
Synced at the promoted revision and Healthy.

An Environment with a `verification.argocd` block gets this check appended to its post-action phase
(promotions.release.builtin_checks); it can also be written as a PromotionCheck of its own:

    spec:
      argoCdHealth:
        server: https://argocd.example.com
        token: arn:aws:secretsmanager:eu-west-1:123456789012:secret:argocd-token   # or {secret, key}
        applications: [{name: guestbook-prod}, {name: guestbook-api, namespace: team-a}]
        pollSeconds: 15
      timeout: 15

The connection always verifies Argo CD's TLS certificate: there is no setting to turn that off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field, HttpUrl, PositiveInt

from promotions.argocd import AppObservation, ArgoCdClient, ArgoCdError, Verification, verify
from promotions.checks.context import CheckContext
from promotions.checks.kind import CheckConfig, CheckKind, Name, SecretRef
from promotions.checks.outcomes import CheckOutcome, Failed, Passed, Wait
from promotions.checks.services import CheckServices, SecretUnavailable
from promotions.http import HttpTransientError

KIND = "argoCdHealth"
DEFAULT_POLL_SECONDS = 15
# Minutes, the unit of a PromotionCheck's timeout.
DEFAULT_TIMEOUT = 15


class ArgoCdApplication(CheckConfig):
    name: Name
    # The Application resource's own namespace (Argo CD's appNamespace), not its destination namespace; none
    # means Argo CD's control-plane namespace.
    namespace: Name | None = None


class ArgoCdConnection(CheckConfig):
    """Which Argo CD to ask, with which API token, and how often."""

    server: HttpUrl
    token: SecretRef
    poll_seconds: PositiveInt = DEFAULT_POLL_SECONDS


class ArgoCdHealthCheck(CheckKind, ArgoCdConnection):
    """Passes when every listed application is Synced at the promotion commit and Healthy with no sync
    operation still running; waits while any is on its way there; fails when the promoted revision's sync
    failed or an application at it is Degraded or Missing (see promotions.argocd.verify).

    Without a promotion commit (the environment already held the version, so nothing was written) each
    application is judged at the revision it reports as synced: it only has to be Synced and Healthy.
    """

    kind: ClassVar[str] = KIND

    applications: tuple[ArgoCdApplication, ...] = Field(min_length=1)

    def evaluate(self, context: CheckContext, services: CheckServices) -> CheckOutcome:
        try:
            token = self.token.read(services)
        except SecretUnavailable as error:
            return Failed(reason=str(error))
        client = ArgoCdClient(str(self.server), token, services.http)
        try:
            observations = [client.application(app.name, app.namespace) for app in self.applications]
        except HttpTransientError as error:
            # Argo CD's API server restarting or briefly overloaded: ask again, within the check's timeout.
            return Wait(seconds=self.poll_seconds, reason=f"Argo CD did not answer: {error}")
        except ArgoCdError as error:
            return Failed(reason=str(error))
        verification = _verify(observations, context.commit.sha if context.commit else None)
        match verification.outcome:
            case "verified":
                return Passed()
            case "pending":
                return Wait(seconds=self.poll_seconds, reason=verification.summary)
            case "failed":
                return Failed(reason=verification.summary)


def _verify(observations: Sequence[AppObservation], promoted_revision: str | None) -> Verification:
    if promoted_revision is not None:
        return verify(observations, promoted_revision)
    verdicts = [verify([observation], _synced_revision(observation)) for observation in observations]
    # One verdict for the environment, ranked as verify ranks its applications.
    outcomes = {verdict.outcome for verdict in verdicts}
    return Verification(
        outcome=next(outcome for outcome in ("failed", "pending", "verified") if outcome in outcomes),
        summary="; ".join(verdict.summary for verdict in verdicts),
    )


def _synced_revision(observation: AppObservation) -> str:
    """Any one of a multi-source application's revisions will do: verify looks for the revision among them.
    An application that reports none can never be at it, so it stays pending."""
    return observation.revisions[0] if observation.revisions else ""
