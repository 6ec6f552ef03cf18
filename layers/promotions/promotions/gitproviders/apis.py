"""The Git host API behind a repository, with the token the engine already pushes with: the `pr` promotion
action's pull requests, and commit statuses reported on the commits the engine promotes.

The provider and its API URL are a GitRepository's choice where one covers the repository, else chosen from
the host (promotions.gitproviders.provider_for). The API token is the password the Git credentials secret
holds for the repository's URL (promotions.git.credentials): the token that pushes the promotion's branch
also opens and follows its pull request. For Bitbucket Cloud that is an access token (username
x-token-auth, or `token` alone; sent as Bearer) or an app password with its user name (sent as Basic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from promotions.http import HttpClient

from .errors import GitProviderConfigError
from .rest import RestProvider
from .selection import provider_for

if TYPE_CHECKING:
    # A type only: the module imports the Git engine, which the configuration (ProviderChoice) does not need.
    from promotions.git.credentials import GitCredentials


@dataclass(frozen=True)
class ProviderChoice:
    """Which provider's API serves a repository, and at which URL; None leaves that to provider_for (by host,
    at the provider's default URL). A GitRepository document makes the choice
    (promotions.config.Configuration.provider_choice_for)."""

    provider: str | None = None
    api_url: str | None = None


class PullRequestApis:
    """Thread-safe: each call builds its own provider; `credentials` and `http` are shared safely."""

    def __init__(self, credentials: GitCredentials, http: HttpClient) -> None:
        self._credentials = credentials
        self._http = http

    def provider(self, repo_url: str, choice: ProviderChoice) -> RestProvider:
        """The host API for `repo_url` (pull requests and commit statuses). Raises GitProviderConfigError when no
        provider can be chosen or no token is configured, CredentialsSecretError for a malformed credentials
        secret."""
        credentials = self._credentials.for_url(repo_url)
        if credentials is None:
            raise GitProviderConfigError(
                f"no API token for {repo_url}: the Git host's API is called with the password the Git "
                "credentials secret holds for the repository's URL prefix, and none is configured for it"
            )
        return provider_for(
            repo_url,
            provider=choice.provider,
            api_url=choice.api_url,
            token=credentials.password,
            http=self._http,
            username=credentials.username,
        )
