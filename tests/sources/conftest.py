import json

import pytest


@pytest.fixture
def load_event(upstream_events):
    """An upstream event fixture decoded, to be broken on purpose by a test."""
    return lambda name: json.loads((upstream_events / name).read_bytes())
