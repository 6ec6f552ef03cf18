"""Drift: per environment, what the next promotion from its first dependency would change, read at the branch
tips now with the promotion's own planning."""

from __future__ import annotations

import pytest

from promotions.config import load_configuration_dir
from promotions.git import Author, GitRemote
from promotions.release.drift import product_drift
from promotions.release.manual import ProductNotFound
from promotions.release.promotion import preview_promotion
from promotions_local.demo import write_demo_configuration

DANA = Author(name="Dana", email="dana@example.invalid")


def edit_file(gitops: str, path: str, old: bytes, new: bytes) -> None:
    def edit(tip):
        text = tip.read(path)
        assert old in text
        return {path: text.replace(old, new)}

    GitRemote(gitops).commit("main", edit, f"edit {path}", DANA)


@pytest.fixture
def configuration(tmp_path, gitops):
    return load_configuration_dir(write_demo_configuration(tmp_path / "config", gitops))


def drift_of(configuration, gitops):
    return {env.environment: env for env in product_drift(configuration, "guestbook", GitRemote).environments}


def test_a_change_in_dev_drifts_the_environments_promoted_from_dev_only(configuration, gitops):
    edit_file(gitops, "apps/web/dev/values.yaml", b"darkMode: false", b"darkMode: true")
    edit_file(gitops, "apps/api/dev/values.yaml", b'tag: "1.4.0"', b'tag: "1.5.0"')

    drift = drift_of(configuration, gitops)

    assert [(name, env.promoted_from) for name, env in drift.items()] == [
        ("qa", "dev"),
        ("staging", "dev"),
        ("prod", "qa"),
    ]
    qa = [(c.file, c.property, c.current, c.next) for c in drift["qa"].changes]
    assert ("apps/api/qa/values.yaml", "$['image']['tag']", "1.4.0", "1.5.0") in qa
    web_flags = next(c for c in drift["qa"].changes if c.file == "apps/web/qa/values.yaml")
    assert web_flags.property == "$['featureFlags']" and web_flags.next["darkMode"] is True
    assert web_flags.current["darkMode"] is False
    assert all(c.repo_url == gitops and c.branch == "main" for c in drift["qa"].changes)
    assert [c.file.replace("staging", "qa") for c in drift["staging"].changes] == [
        c.file for c in drift["qa"].changes
    ]
    assert drift["prod"].changes == ()


def test_the_drift_is_the_dry_run_diff_of_evaluate_property_by_property(configuration, gitops):
    edit_file(gitops, "apps/api/dev/Chart.yaml", b'appVersion: "1.4.0"', b'appVersion: "2.0.0"')
    edit_file(gitops, "apps/api/qa/values.yaml", b"newCheckout: false", b"newCheckout: true")

    drift = drift_of(configuration, gitops)["qa"]
    diff = preview_promotion(configuration, "guestbook", "dev", "qa", GitRemote)

    assert sorted({c.file for c in drift.changes}) == sorted(change.path for change in diff)
    assert [(c.property, c.current, c.next) for c in drift.changes if c.file == "apps/api/qa/Chart.yaml"] == [
        ("$['appVersion']", "1.4.0", "2.0.0")
    ]
    flags = next(c for c in drift.changes if c.property == "$['featureFlags']")
    assert flags.current["newCheckout"] is True and flags.next["newCheckout"] is False


def test_an_unknown_product_is_not_found(configuration):
    with pytest.raises(ProductNotFound):
        product_drift(configuration, "nope", GitRemote)
