"""What `local up` tells a person before they use the stack it serves."""

from __future__ import annotations

import shutil
from pathlib import Path

from promotions.config import load_configuration_dir
from promotions_local.local_up import permissions_notice

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "demo" / "config"


def test_a_configuration_without_permissions_is_told_that_every_state_changing_call_is_refused(tmp_path):
    shutil.copytree(DEMO_CONFIG, tmp_path / "config")
    (tmp_path / "config" / "permissions.yaml").unlink()

    notice = permissions_notice(load_configuration_dir(tmp_path / "config"))

    assert notice is not None
    assert "no PromotionPermissions document" in notice and "refused (403)" in notice


def test_a_configuration_that_grants_something_gets_no_notice():
    assert permissions_notice(load_configuration_dir(DEMO_CONFIG)) is None
