"""What the tests of manual releases and rollback share: the demo's configuration in a Git repository, pointing
at the demo's GitOps repository, with the tests' callers' permissions (tests/release/callers.py), and executions
recorded rather than run."""

from __future__ import annotations

import pytest

from promotions.config.repository import ConfigRepository
from promotions.git import GitRemote
from promotions_local.demo import create_demo_repository, write_demo_configuration
from promotions_local.git_server import create_bare_repository
from tests.release.callers import PERMISSIONS_YAML


class RecordedExecutions:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.retried: list[str] = []
        self._existing: set[str] = set()

    def start(self, release_id: str) -> bool:
        if release_id in self._existing:
            return False
        self._existing.add(release_id)
        self.started.append(release_id)
        return True

    def retry(self, release_id: str, attempt: int) -> bool:
        name = f"{release_id}-retry-{attempt}"
        if not self.start(name):
            return False
        self.retried.append(name)
        return True


@pytest.fixture
def executions() -> RecordedExecutions:
    return RecordedExecutions()


@pytest.fixture
def gitops(tmp_path) -> str:
    """The demo's GitOps repository on disk; a module that needs it served overrides this."""
    create_demo_repository(tmp_path / "gitops.git")
    return str(tmp_path / "gitops.git")


@pytest.fixture
def configs(tmp_path, gitops, store) -> ConfigRepository:
    config_dir = write_demo_configuration(tmp_path / "config", str(gitops))
    (config_dir / "release-tests-permissions.yaml").write_text(PERMISSIONS_YAML)
    files = {
        p.relative_to(config_dir).as_posix(): p.read_bytes() for p in config_dir.rglob("*") if p.is_file()
    }
    create_bare_repository(tmp_path / "config.git", files, message="Promotion configuration")
    return ConfigRepository(GitRemote(str(tmp_path / "config.git")), "main", "", store)
