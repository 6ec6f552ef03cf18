"""Choosing the provider adapter and its API URL from the repository URL and the configuration."""

from __future__ import annotations

import pytest

from promotions.gitproviders import PROVIDERS, GitProviderConfigError, provider_for, provider_name_for
from promotions.gitproviders.bitbucket import BitbucketProvider
from promotions.gitproviders.github import GitHubProvider
from promotions.gitproviders.gitlab import GitLabProvider
from promotions.http import HttpClient


def chosen(repo_url: str, provider: str | None = None, api_url: str | None = None):
    return provider_for(repo_url, provider=provider, api_url=api_url, token="t", http=HttpClient())


@pytest.mark.parametrize(
    ("repo_url", "kind", "api_url"),
    [
        ("https://github.com/acme/gitops.git", GitHubProvider, "https://api.github.com"),
        ("git@github.com:acme/gitops.git", GitHubProvider, "https://api.github.com"),
        ("https://GitHub.com/acme/gitops", GitHubProvider, "https://api.github.com"),
        ("https://gitlab.com/acme/platform/gitops.git", GitLabProvider, "https://gitlab.com/api/v4"),
        ("ssh://git@gitlab.com/acme/gitops.git", GitLabProvider, "https://gitlab.com/api/v4"),
        ("https://bitbucket.org/acme/gitops.git", BitbucketProvider, "https://api.bitbucket.org/2.0"),
        ("git@bitbucket.org:acme/gitops.git", BitbucketProvider, "https://api.bitbucket.org/2.0"),
    ],
)
def test_cloud_hosts_are_recognised(repo_url, kind, api_url):
    provider = chosen(repo_url)

    assert type(provider) is kind
    assert provider.api_url == api_url


@pytest.mark.parametrize(
    ("repo_url", "provider", "api_url"),
    [
        ("https://ghe.example.com/acme/gitops.git", "github", "https://ghe.example.com/api/v3"),
        ("git@ghe.example.com:acme/gitops.git", "github", "https://ghe.example.com/api/v3"),
        ("https://git.example.com:8443/acme/gitops.git", "gitlab", "https://git.example.com:8443/api/v4"),
        # An SSH port is the SSH server's, not the web server's.
        ("ssh://git@git.example.com:2222/acme/gitops.git", "gitlab", "https://git.example.com/api/v4"),
        ("http://127.0.0.1:8080/acme/gitops.git", "github", "http://127.0.0.1:8080/api/v3"),
    ],
)
def test_self_hosted_servers_get_their_conventional_api_url(repo_url, provider, api_url):
    assert chosen(repo_url, provider).api_url == api_url


def test_configured_api_url_wins_and_loses_its_trailing_slash():
    provider = chosen("https://github.com/acme/gitops.git", api_url="https://proxy.example.com/github/")

    assert provider.api_url == "https://proxy.example.com/github"


def test_configured_provider_wins_over_the_host():
    assert type(chosen("https://github.com/acme/gitops.git", "gitlab")) is GitLabProvider


def test_unknown_host_without_provider_asks_for_it():
    with pytest.raises(
        GitProviderConfigError, match=r"git\.example\.com.*set provider to one of github, gitlab"
    ):
        chosen("https://git.example.com/acme/gitops.git")


def test_unknown_provider_is_named():
    with pytest.raises(GitProviderConfigError, match="provider 'gitea'"):
        chosen("https://github.com/acme/gitops.git", "gitea")


def test_bitbucket_elsewhere_needs_an_api_url():
    with pytest.raises(GitProviderConfigError, match="apiUrl"):
        chosen("https://bitbucket.example.com/acme/gitops.git", "bitbucket")
    assert chosen(
        "https://bitbucket.example.com/acme/gitops.git", "bitbucket", "https://bb.example/2.0"
    ).api_url == ("https://bb.example/2.0")


@pytest.mark.parametrize(
    ("repo_url", "api_url"),
    [
        ("https://gitlab.example.com/acme/gitops.git", "https://gitlab.example.com/api/v4"),
        ("ssh://git@gitlab.internal:2222/acme/gitops.git", "https://gitlab.internal/api/v4"),
    ],
)
def test_a_host_named_gitlab_dot_something_is_taken_for_self_managed_gitlab(repo_url, api_url):
    provider = chosen(repo_url)

    assert type(provider) is GitLabProvider
    assert provider.api_url == api_url


def test_every_host_in_the_table_is_recognised_by_its_cloud_host_alone():
    for name, kind in PROVIDERS.items():
        assert provider_name_for(f"https://{kind.cloud_host}/acme/gitops.git") == name
        assert chosen(f"https://{kind.cloud_host}/acme/gitops.git").api_url == kind.cloud_api_url
