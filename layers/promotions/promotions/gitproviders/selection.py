"""Which host's API serves a repository: by its host, or as configured (`provider`, `apiUrl`).

PROVIDERS is the one table of hosts: a new host is one module (its whole API, a RestProvider) and one line here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from promotions.http import HttpClient
from promotions.repo_url import canonical_repo

from .bitbucket import BitbucketProvider
from .errors import GitProviderConfigError
from .github import GitHubProvider
from .gitlab import GitLabProvider
from .rest import RestProvider

PROVIDERS: dict[str, type[RestProvider]] = {
    "github": GitHubProvider,
    "gitlab": GitLabProvider,
    "bitbucket": BitbucketProvider,
}


def provider_name_for(repo_url: str) -> str | None:
    """The name in PROVIDERS of the host `repo_url` is on, when its host name tells (github.com, gitlab.com and
    hosts named gitlab.*, bitbucket.org); else None."""
    host = _host(repo_url)
    return next((name for name, provider in PROVIDERS.items() if provider.recognises(host)), None)


def provider_for(
    repo_url: str,
    *,
    provider: str | None,
    api_url: str | None,
    token: str | None,
    http: HttpClient,
    username: str | None = None,
) -> RestProvider:
    """The host API for `repo_url`: its pull requests and commit statuses.

    `provider` (a name in PROVIDERS) is needed where the host name does not tell. Without `api_url`, a
    self-hosted GitHub Enterprise Server is reached at https://HOST/api/v3 and GitLab at https://HOST/api/v4.
    `token` None calls anonymously. `username`: the user the token pushes as over Git HTTPS; on Bitbucket, a
    user name other than an access token's makes the token an app password.
    """
    chosen = provider or provider_name_for(repo_url)
    if chosen is None:
        raise GitProviderConfigError(
            f"cannot tell which Git provider hosts {repo_url!r} (host {_host(repo_url)!r}): set provider to one "
            f"of {', '.join(PROVIDERS)}, and apiUrl for a self-hosted server"
        )
    if chosen not in PROVIDERS:
        raise GitProviderConfigError(
            f"provider {chosen!r} for {repo_url!r} is not one of {', '.join(PROVIDERS)}"
        )
    kind = PROVIDERS[chosen]
    api_token = kind.api_token(token, username) if token is not None else None
    return kind(api_url or _default_api_url(repo_url, kind), api_token, http)


def _host(repo_url: str) -> str:
    return canonical_repo(repo_url).partition("/")[0]


def _default_api_url(repo_url: str, kind: type[RestProvider]) -> str:
    host = _host(repo_url)
    if host == kind.cloud_host:
        return kind.cloud_api_url
    if kind.self_hosted_api_path is None:
        raise GitProviderConfigError(
            f"{repo_url!r} is not on {kind.cloud_host}: set apiUrl to a {kind.name} compatible API for it"
        )
    scheme = urlsplit(repo_url).scheme
    if scheme not in ("http", "https"):
        # An SSH clone URL's port is the SSH server's; the API is on the web server.
        scheme, host = "https", host.partition(":")[0]
    return f"{scheme}://{host}{kind.self_hosted_api_path}"
