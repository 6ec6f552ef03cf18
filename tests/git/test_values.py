"""The values the Git engine takes and returns."""

from __future__ import annotations

import dataclasses

import pytest

from promotions.git import Author, CommitOutcome, HttpCredentials


def test_author_identity_is_name_and_email_as_git_stores_them():
    assert Author(" Promotion Bot ", "bot@example.com").identity == b"Promotion Bot <bot@example.com>"


@pytest.mark.parametrize(
    ("name", "email", "message"),
    [
        ("", "bot@example.com", "author name is empty"),
        ("Bot <evil>", "bot@example.com", "contains '<'"),
        ("Bot", "bot@example.com>\nInjected", "contains '<'"),
        ("Bot", "  ", "author email is empty"),
    ],
)
def test_authors_git_cannot_store_are_refused(name: str, email: str, message: str):
    with pytest.raises(ValueError, match=message):
        Author(name, email)


def test_author_is_immutable():
    author = Author("Bot", "bot@example.com")
    with pytest.raises(dataclasses.FrozenInstanceError):
        author.name = "Other"  # type: ignore[misc]


def test_credentials_repr_never_shows_the_password():
    credentials = HttpCredentials("x-access-token", "ghs_very_secret_token")

    assert "ghs_very_secret_token" not in repr(credentials)
    assert "x-access-token" in repr(credentials)


def test_commit_outcome_serialises_for_step_functions():
    outcome = CommitOutcome(commit_sha=None, base_sha="a" * 40, attempts=2)

    assert outcome.model_dump() == {
        "commit_sha": None,
        "base_sha": "a" * 40,
        "attempts": 2,
        "changed_paths": (),
    }
