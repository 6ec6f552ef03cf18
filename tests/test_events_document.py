"""docs/events.md is what the status change event models say."""

from __future__ import annotations

from promotions_local.events_document import DOCUMENT, render


def test_the_events_page_matches_the_models():
    assert DOCUMENT.read_text() == render(), (
        "docs/events.md is out of date: run python -m promotions_local.events_document"
    )
