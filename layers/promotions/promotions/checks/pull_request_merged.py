"""pullRequestMerged: a `pr` promotion is done when its pull request is merged, and the merge commit is what
the environment was promoted as.

When an environment's promotion opened pull requests, the engine puts one of these at the head of its
post-action phase per pull request (promotions.release.builtin_checks), so deploy verification and every later check see
the merge commit as COMMIT_SHA. It can also be written as a PromotionCheck of its own:

    spec:
      pullRequestMerged:
        repoUrl: https://github.com/acme/gitops.git
        number: 42
        credentials: arn:aws:secretsmanager:eu-west-1:123456789012:secret:git-credentials
        provider: github                        # optional: else chosen from the host
        apiUrl: https://github.example.com/api/v3   # optional: else the provider's default
        pollSeconds: 60
      timeout: 1440

`credentials` is the Git credentials secret (URL prefix -> credentials, promotions.git.credentials); the
password it holds for `repoUrl` is the API token. The pull request's state is polled: open waits, merged
passes with the merge commit as the promoted commit, closed without merging fails.
"""

from __future__ import annotations

import functools
import json
from typing import Any, ClassVar

from pydantic import HttpUrl, PositiveInt

from promotions.checks.context import CheckContext
from promotions.checks.kind import CheckKind, Name
from promotions.checks.outcomes import CheckOutcome, Failed, Passed, Wait
from promotions.checks.services import CheckServices, SecretResolver, SecretUnavailable
from promotions.git.credentials import CredentialsSecretError, GitCredentials
from promotions.gitproviders import GitProviderConfigError, GitProviderError, PullRequestStatus
from promotions.gitproviders.apis import ProviderChoice, PullRequestApis
from promotions.http import HttpTransientError

KIND = "pullRequestMerged"
DEFAULT_POLL_SECONDS = 60


class PullRequestMergedCheck(CheckKind):
    kind: ClassVar[str] = KIND

    repo_url: Name
    number: PositiveInt
    # The Git credentials secret; None (no secret configured) leaves no API token, which fails the check.
    credentials: Name | None = None
    provider: Name | None = None
    api_url: HttpUrl | None = None
    poll_seconds: PositiveInt = DEFAULT_POLL_SECONDS

    def evaluate(self, context: CheckContext, services: CheckServices) -> CheckOutcome:
        credentials = GitCredentials(
            self.credentials, read_secret=functools.partial(_json_secret, services.secrets)
        )
        # provider_for is typed for the concrete client; any client of its shape serves.
        apis = PullRequestApis(credentials, services.http)  # type: ignore[arg-type]
        try:
            provider = apis.provider(self.repo_url, self.choice)
            state = provider.state(self.repo_url, self.number)
        except HttpTransientError as error:
            # The provider rate limiting or briefly down: ask again, within the check's timeout.
            return Wait(seconds=self.poll_seconds, reason=f"the pull request API did not answer: {error}")
        except (SecretUnavailable, CredentialsSecretError, GitProviderConfigError, GitProviderError) as error:
            return Failed(reason=str(error))
        match state.status:
            case PullRequestStatus.OPEN:
                return Wait(
                    seconds=self.poll_seconds, reason=f"pull request #{self.number} is open: {state.url}"
                )
            case PullRequestStatus.CLOSED:
                return Failed(reason=f"pull request #{self.number} was closed without merging ({state.url})")
            case PullRequestStatus.MERGED:
                if not state.merge_commit_sha:
                    return Failed(
                        reason=f"pull request #{self.number} was merged, but {provider.name} "
                        "names no merge commit"
                    )
                return Passed(promoted_commit=state.merge_commit_sha)

    @property
    def choice(self) -> ProviderChoice:
        return ProviderChoice(provider=self.provider, api_url=str(self.api_url) if self.api_url else None)


def _json_secret(secrets: SecretResolver, secret_id: str) -> Any:
    text = secrets.secret_string(secret_id)
    try:
        return json.loads(text)
    except ValueError:
        raise CredentialsSecretError(f"secret {secret_id} is not JSON") from None
