"""A GitOps world for end-to-end runs: the demo's repository and configuration, served on loopback."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from promotions.git import Author
from promotions_local.demo import create_demo_repository, write_demo_configuration
from promotions_local.github_payloads import push_and_describe

# appVersion in Chart.yaml and image.tag in values.yaml: the quoted version, comments kept.
VERSION_LINE = re.compile(r'^(\s*(?:appVersion|tag):\s*)"[^"]*"', re.MULTILINE)
DEVELOPER = Author(name="Dana Developer", email="dana@example.invalid")


def document(api_version: str, kind: str, name: str, spec: dict) -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec}


def write_documents(config_dir, filename: str, documents: list[dict]) -> None:
    (config_dir / filename).write_text("---\n".join(json.dumps(d) + "\n" for d in documents))


def board_check(api, name: str, body: dict) -> dict:
    """An http check that POSTs `body` to the fake API's /board every minute until it answers status ok."""
    spec = {
        "url": f"{api.url}/board",
        "method": "POST",
        "body": body,
        "successWhen": {"jsonPath": "$.status", "equals": "ok"},
        "pollSeconds": 60,
    }
    return document("promotions.dev/v1alpha1", "PromotionCheck", name, {"http": spec})


def before_qa_and_staging(check: str) -> dict:
    """A policy that runs `check` before qa and staging are promoted."""
    return document(
        "codefresh.io/v1beta1",
        "PromotionPolicy",
        "board-before-qa-and-staging",
        {
            "priority": 1,
            "selector": {"targetEnvironment": {"names": ["qa", "staging"]}},
            "policy": {"preAction": check},
        },
    )


def wait_for(condition: Callable[[], object], what: str, timeout: float, interval: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout:.0f}s, still not {what}")
        time.sleep(interval)


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
