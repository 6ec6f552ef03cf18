"""The checks the engine adds to a policy's own: deploy verification for an Environment that asks for it, and
the wait for each pull request a `pr` promotion opened. Both are ordinary check kinds (argoCdHealth,
pullRequestMerged), built here from the configuration and the release."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from promotions.checks import PromotionCheck, argocd_health
from promotions.config import Application, Environment
from promotions.repo_url import canonical_repo

if TYPE_CHECKING:
    from promotions.gitproviders.apis import ProviderChoice

_ARGOCD_CONNECTION_FIELDS = frozenset(argocd_health.ArgoCdConnection.model_fields)
# The kind's key, not its module's KIND: the module imports the Git engine, and only a `pr` promotion's gates
# need the kind (the registry imports it then).
_PULL_REQUEST_MERGED = "pullRequestMerged"


def verification_check(
    environment: Environment, applications: Sequence[Application]
) -> PromotionCheck | None:
    """The check the engine appends to `environment`'s post-action phase, or None when the environment asks
    for no verification. `applications` are the product's Argo CD Applications in that environment."""
    verification = environment.verification
    if verification is None:
        return None
    if not applications:
        raise ValueError(f"environment {environment.name}: no Argo CD applications to verify")
    argocd = verification.argocd
    connection = argocd.model_dump(
        mode="json", by_alias=True, exclude_none=True, include=set(_ARGOCD_CONNECTION_FIELDS)
    )
    return PromotionCheck.model_validate(
        {
            "metadata": {"name": f"argocd:{environment.name}"},
            "spec": {
                argocd_health.KIND: {
                    **connection,
                    "applications": [{"name": app.name, "namespace": app.namespace} for app in applications],
                },
                "timeout": argocd.timeout,
            },
        }
    )


def pull_request_check(
    repo_url: str,
    number: int,
    *,
    choice: ProviderChoice,
    credentials: str | None,
    timeout: timedelta,
) -> PromotionCheck:
    """The check the engine puts at the head of a `pr` promotion's post-action phase for one of its pull
    requests; `timeout` bounds the wait for the merge (whole minutes, at least one)."""
    return PromotionCheck.model_validate(
        {
            "metadata": {"name": f"pull-request:{canonical_repo(repo_url)}#{number}"},
            "spec": {
                _PULL_REQUEST_MERGED: {
                    "repoUrl": repo_url,
                    "number": number,
                    "provider": choice.provider,
                    "apiUrl": choice.api_url,
                    "credentials": credentials,
                },
                "timeout": max(1, int(timeout.total_seconds() // 60)),
            },
        }
    )
