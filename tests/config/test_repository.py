"""The configuration comes from Git; a broken revision never replaces the last good one."""

from __future__ import annotations

from pathlib import Path

import pytest

from promotions.config.repository import ConfigRepository, NoValidConfiguration
from promotions.git import Author, GitRemote
from promotions_local.git_server import create_bare_repository

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "demo" / "config"
AUTHOR = Author("Platform Team", "platform@example.invalid")


@pytest.fixture
def config_repo(tmp_path) -> Path:
    files = {f"promotions/{path.name}": path.read_bytes() for path in DEMO_CONFIG.glob("*.yaml")}
    files["README.md"] = b"not configuration\n"
    create_bare_repository(tmp_path / "config.git", files)
    return tmp_path / "config.git"


def break_the_flow(tip):
    flow = tip.read("promotions/promotion-flow.yaml")
    return {
        "promotions/promotion-flow.yaml": flow.replace(
            b"dependsOn: [qa, staging]", b"dependsOn: [qa, nowhere]"
        )
    }


def test_a_broken_revision_leaves_the_last_good_one_in_force(config_repo, store):
    remote = GitRemote(str(config_repo))
    configs = ConfigRepository(remote, "main", "promotions", store)
    good_revision, good = configs.latest()
    assert set(good.products) == {"guestbook"}

    broken = remote.commit("main", break_the_flow, "Typo in the flow", AUTHOR)
    revision, configuration = configs.latest()

    assert broken.commit_sha != good_revision
    assert revision == good_revision
    assert configuration.flows["guestbook-release"].step("prod").depends_on == ("qa", "staging")
    # a fresh reader (another Lambda container) finds the same last good revision in the store
    assert ConfigRepository(remote, "main", "promotions", store).latest()[0] == good_revision


def test_a_repository_that_never_had_a_valid_revision_is_refused_with_the_problems(config_repo, store):
    remote = GitRemote(str(config_repo))
    remote.commit("main", break_the_flow, "Typo in the flow", AUTHOR)
    with pytest.raises(NoValidConfiguration) as raised:
        ConfigRepository(remote, "main", "promotions", store).latest()
    assert "promotion-flow.yaml:" in str(raised.value) and "nowhere" in str(raised.value)


def test_a_pinned_revision_is_read_as_it_was(config_repo, store):
    remote = GitRemote(str(config_repo))
    configs = ConfigRepository(remote, "main", "promotions", store)
    first, _ = configs.latest()
    remote.commit(
        "main",
        lambda tip: {
            "promotions/promotion-flow.yaml": tip.read("promotions/promotion-flow.yaml").replace(
                b"dependsOn: [qa, staging]", b"dependsOn: [qa]"
            )
        },
        "prod after qa only",
        AUTHOR,
    )
    latest, configuration = configs.latest()
    assert latest != first
    assert configuration.flows["guestbook-release"].step("prod").depends_on == ("qa",)
    assert ConfigRepository(remote, "main", "promotions", store).at(first).flows["guestbook-release"].step(
        "prod"
    ).depends_on == ("qa", "staging")
