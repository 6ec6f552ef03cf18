"""A GitOps world for end-to-end runs: the demo's repository and configuration, served on loopback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from promotions.git import Author
from promotions_local.demo import create_demo_repository, write_demo_configuration
from promotions_local.github_payloads import push_and_describe

# appVersion in Chart.yaml and image.tag in values.yaml: the quoted version, comments kept.
VERSION_LINE = re.compile(r'^(\s*(?:appVersion|tag):\s*)"[^"]*"', re.MULTILINE)
DEVELOPER = Author(name="Dana Developer", email="dana@example.invalid")


@dataclass
class GitOpsWorld:
    repos: Path
    config_dir: Path

    def write_config(self, url: str, *, edit=None) -> Path:
        """The demo configuration pointing at `url`; `edit(text, filename)` may rewrite any file."""
        return write_demo_configuration(self.config_dir, url, edit)


@pytest.fixture
def gitops_world(tmp_path: Path) -> GitOpsWorld:
    repos = tmp_path / "repos"
    repos.mkdir()
    create_demo_repository(repos / "gitops.git")
    return GitOpsWorld(repos=repos, config_dir=tmp_path / "config")


def _push_version(url: str, version: str, *, apps=("api", "web"), message: str | None = None) -> dict:
    """Commit `version` into dev's Chart.yaml and values.yaml and describe the push as GitHub would."""
    paths = [f"apps/{app}/dev/{name}" for app in apps for name in ("Chart.yaml", "values.yaml")]
    message = message or f"Release {version} to dev"

    def bump(tip):
        return {
            path: VERSION_LINE.sub(rf'\g<1>"{version}"', tip.read(path).decode()).encode() for path in paths
        }

    return push_and_describe(url, "main", bump, message, DEVELOPER)


@pytest.fixture
def push_version():
    return _push_version


@pytest.fixture
def developer() -> Author:
    return DEVELOPER
