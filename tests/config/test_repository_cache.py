"""The configuration is parsed once per revision, however many pushes read it."""

from __future__ import annotations

from pathlib import Path

from promotions.config import repository as config_repository
from promotions.config.repository import ConfigRepository
from promotions.git import Author, GitRemote
from promotions_local.git_server import create_bare_repository

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "demo" / "config"


def test_the_configuration_is_parsed_once_per_revision(tmp_path, store, monkeypatch):
    create_bare_repository(
        tmp_path / "config.git", {path.name: path.read_bytes() for path in DEMO_CONFIG.glob("*.yaml")}
    )
    remote = GitRemote(str(tmp_path / "config.git"))
    parsed = []
    load = config_repository.load_configuration
    monkeypatch.setattr(
        config_repository, "load_configuration", lambda files: parsed.append(1) or load(files)
    )
    configs = ConfigRepository(remote, "main", "", store)

    first = [configs.latest() for _ in range(3)]
    remote.commit(
        "main",
        lambda tip: {"README.md": b"a new revision\n"},
        "New revision",
        Author("A", "a@example.invalid"),
    )
    second = [configs.latest() for _ in range(3)]

    assert len({revision for revision, _ in first}) == 1 and len({revision for revision, _ in second}) == 1
    assert first[0][0] != second[0][0]
    assert len(parsed) == 2
    assert configs.at(first[0][0]) is first[0][1]
