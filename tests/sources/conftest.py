import json

import pytest


@pytest.fixture
def load_event(shared_events):
    """A shared event fixture decoded, to be broken on purpose by a test."""
    return lambda name: json.loads((shared_events / name).read_bytes())
