"""Which provider's API serves a repository: by its host, or as configured (`provider`, `apiUrl`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from promotions.http import HttpClient
from promotions.repo_url import canonical_repo

from .bitbucket import BITBUCKET_API_URL, BitbucketProvider
from .errors import PullRequestConfigError
from .github import GITHUB_API_URL, GitHubProvider
from .gitlab import GITLAB_API_URL, GitLabProvider
from .models import PullRequestProvider
from .rest import RestProvider

_PROVIDERS: dict[str, type[RestProvider]] = {
    "github": GitHubProvider,
    "gitlab": GitLabProvider,
    "bitbucket": BitbucketProvider,
}
_CLOUD_HOSTS = {"github.com": "github", "gitlab.com": "gitlab", "bitbucket.org": "bitbucket"}
_CLOUD_API_URLS = {"github": GITHUB_API_URL, "gitlab": GITLAB_API_URL, "bitbucket": BITBUCKET_API_URL}
# Where self-hosted servers serve their API; Bitbucket Data Center's API is another API altogether.
_SELF_HOSTED_API_PATHS = {"github": "/api/v3", "gitlab": "/api/v4"}
# The user names that go with Bitbucket access tokens over Git HTTPS. Any other comes with an app password
# (or an Atlassian API token), which Bitbucket's API takes only as Basic credentials with that user name.
_BITBUCKET_TOKEN_USERNAMES = {"x-token-auth", "x-access-token"}


def provider_for(
    repo_url: str,
    *,
    provider: str | None,
    api_url: str | None,
    token: str,
    http: HttpClient,
    username: str | None = None,
) -> PullRequestProvider:
    """The adapter for `repo_url`'s pull requests.

    github.com, gitlab.com and bitbucket.org are recognised; any other host needs `provider`. Without
    `api_url`, a self-hosted GitHub Enterprise Server is reached at https://HOST/api/v3 and GitLab at
    https://HOST/api/v4. `username`: the user the token pushes as; on Bitbucket, a user name other than an
    access token's makes the token an app password.
    """
    host = canonical_repo(repo_url).partition("/")[0]
    chosen = provider or _CLOUD_HOSTS.get(host)
    if chosen is None:
        raise PullRequestConfigError(
            f"cannot tell which Git provider hosts {repo_url!r} (host {host!r}): set provider to one of "
            f"{', '.join(_PROVIDERS)}, and apiUrl for a self-hosted server"
        )
    if chosen not in _PROVIDERS:
        raise PullRequestConfigError(
            f"provider {chosen!r} for {repo_url!r} is not one of {', '.join(_PROVIDERS)}"
        )
    if chosen == "bitbucket" and username and username not in _BITBUCKET_TOKEN_USERNAMES:
        token = f"{username}:{token}"
    return _PROVIDERS[chosen](api_url or _default_api_url(repo_url, host, chosen), token, http)


def _default_api_url(repo_url: str, host: str, provider: str) -> str:
    if _CLOUD_HOSTS.get(host) == provider:
        return _CLOUD_API_URLS[provider]
    if provider not in _SELF_HOSTED_API_PATHS:
        raise PullRequestConfigError(
            f"{repo_url!r} is not on bitbucket.org: set apiUrl to a Bitbucket Cloud compatible API for it"
        )
    scheme = urlsplit(repo_url).scheme
    if scheme not in ("http", "https"):
        # An SSH clone URL's port is the SSH server's; the API is on the web server.
        scheme, host = "https", host.partition(":")[0]
    return f"{scheme}://{host}{_SELF_HOSTED_API_PATHS[provider]}"
