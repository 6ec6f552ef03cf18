"""The pull request API behind a repository, for the `pr` promotion action.

The provider and its API URL are a GitRepository's choice where one covers the repository, else chosen from
the host (promotions.pullrequests.provider_for). The API token is the password the Git credentials secret
holds for the repository's URL (promotions.git.credentials): the token that pushes the promotion's branch
also opens and follows its pull request. For Bitbucket Cloud that is an access token (username
x-token-auth, or `token` alone; sent as Bearer) or an app password with its user name (sent as Basic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from promotions.git.credentials import GitCredentials
from promotions.http import HttpClient
from promotions.pullrequests.errors import PullRequestConfigError
from promotions.pullrequests.rest import RestProvider
from promotions.pullrequests.selection import provider_for


@dataclass(frozen=True)
class ProviderChoice:
    """Which provider's API serves a repository, and at which URL; None leaves that to provider_for (by host,
    at the provider's default URL). A GitRepository document makes the choice
    (promotions.config.Configuration.provider_choice_for)."""

    provider: str | None = None
    api_url: str | None = None


class PullRequestApis:
    """Thread-safe: each call builds its own adapter; `credentials` and `http` are shared safely."""

    def __init__(self, credentials: GitCredentials, http: HttpClient) -> None:
        self._credentials = credentials
        self._http = http

    def provider(self, repo_url: str, choice: ProviderChoice) -> RestProvider:
        """The adapter for `repo_url`'s pull requests. Raises PullRequestConfigError when no provider can be
        chosen or no token is configured, CredentialsSecretError for a malformed credentials secret."""
        credentials = self._credentials.for_url(repo_url)
        if credentials is None:
            raise PullRequestConfigError(
                f"no API token for {repo_url}: pull requests use the password the Git credentials secret "
                "holds for the repository's URL prefix, and none is configured for it"
            )
        # provider_for builds REST adapters only; their name says which provider people will see.
        return cast(
            RestProvider,
            provider_for(
                repo_url,
                provider=choice.provider,
                api_url=choice.api_url,
                token=credentials.password,
                http=self._http,
                username=credentials.username,
            ),
        )
