from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# CI lays a copy of shared/ beside the clone, as it is beside the working tree.
SHARED_EVENTS = REPO_ROOT.parent / "shared" / "fixtures" / "events"


@pytest.fixture(scope="session")
def shared_events() -> Path:
    if not SHARED_EVENTS.is_dir():
        pytest.fail(f"shared event fixtures not found at {SHARED_EVENTS}: shared/ must sit beside the repository")
    return SHARED_EVENTS
