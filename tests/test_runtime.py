"""Wiring from the environment: what a warm container keeps between invocations."""

from __future__ import annotations

from promotions.git import Author
from promotions.git.credentials import GitCredentials
from promotions.runtime import Services, Settings

SETTINGS = Settings(
    promotions_table="promotions",
    config_repo_url="https://git.example.invalid/acme/config.git",
    config_repo_branch="main",
    config_path="",
    commit_author=Author("Promotions", "promotions@example.invalid"),
    git_credentials_secret="git-credentials",
    commit_signing_key_secret=None,
)


def test_a_remote_is_kept_per_repository_until_its_credentials_change():
    secret = {"https://git.example.invalid/": {"token": "first"}}
    services = Services(SETTINGS)
    services.git_credentials = GitCredentials("git-credentials", read_secret=lambda name: secret)
    gitops = services.remote("https://git.example.invalid/acme/gitops.git")

    assert services.remote("https://git.example.invalid/acme/gitops.git") is gitops
    assert services.remote("https://git.example.invalid/acme/other.git") is not gitops

    secret["https://git.example.invalid/"] = {"token": "rotated"}
    assert services.remote("https://git.example.invalid/acme/gitops.git") is not gitops
