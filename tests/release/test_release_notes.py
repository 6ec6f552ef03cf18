"""Release notes: the source branch's commits from the flow's previous release to this one, read from the
branch's history without files, with authors and the issue keys their messages name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from promotions.git import Author, GitRemote
from promotions.release import notes
from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.notes import issue_keys, release_notes
from promotions.release.status import EnvironmentStatus
from promotions.release.store import ReleaseNotFound, ReleaseStore
from tests.functions.api_world import TABLE, promotions_table_from_template

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DANA = Author(name="Dana Developer", email="dana@example.invalid")


@pytest.fixture
def store(aws) -> ReleaseStore:
    boto3.client("dynamodb").create_table(**promotions_table_from_template())
    return ReleaseStore(TABLE)


def commit(gitops: str, message: str, branch: str = "main") -> str:
    path = "apps/api/dev/notes.txt"

    def add_line(tip):
        return {path: (tip.read(path) or b"") + message.encode() + b"\n"}

    return GitRemote(gitops).commit(branch, add_line, message, DANA).commit_sha


def stored(store, gitops, sha, minutes, *, trigger="dev", rollback_of=None, flow="release") -> Release:
    source = SourceRevision(repo_url=gitops, branch="main", commit=sha)
    release = Release(
        id=release_id_for("guestbook", flow, source, request=str(minutes)),
        product="guestbook",
        flow=flow,
        version="1.0.0",
        trigger_environment=trigger,
        source=source,
        config_revision="r",
        created_at=T0 + timedelta(minutes=minutes),
        environments=[EnvironmentRun(name=trigger, status=EnvironmentStatus.SUCCESSFUL)],
        rollback_of=rollback_of,
    )
    assert store.create(release)
    return release


def subjects(release_notes_) -> list[str]:
    return [noted.subject for noted in release_notes_.commits]


def test_the_notes_hold_the_commits_after_the_previous_release_of_the_flow_from_the_same_source(
    store, gitops
):
    first = stored(store, gitops, commit(gitops, "Start"), 1)
    a = commit(gitops, "Add the form, ABC-1")
    stored(store, gitops, a, 2, rollback_of=first.id)  # restores an older source: no boundary
    stored(store, gitops, a, 3, trigger="qa")  # another environment's source
    stored(store, gitops, a, 4, flow="hotfix")  # another flow
    b = commit(gitops, "Fix #7 and ABC-1 again\n\nRefs XY-22.")
    second = stored(store, gitops, b, 5)
    commit(gitops, "After the release")

    noted = release_notes(store, GitRemote, second.id)

    assert noted.previous_release == first.id and not noted.truncated
    assert [(c.commit, c.subject, c.issues) for c in noted.commits] == [
        (b, "Fix #7 and ABC-1 again", ("#7", "ABC-1", "XY-22")),
        (a, "Add the form, ABC-1", ("ABC-1",)),
    ]
    assert {c.author for c in noted.commits} == {"Dana Developer"}
    assert all(c.at.tzinfo is not None for c in noted.commits)


def test_the_engines_own_promotion_commits_on_the_source_branch_are_left_out(store, gitops):
    first = stored(store, gitops, commit(gitops, "Start"), 1)
    commit(gitops, "Promote guestbook 1.0.0 to qa\n\nPromotion-Release: r1\nPromotion-Product: guestbook")
    change = commit(gitops, "A change")
    second = stored(store, gitops, change, 2)

    noted = release_notes(store, GitRemote, second.id)

    assert noted.previous_release == first.id
    assert [c.commit for c in noted.commits] == [change] and not noted.truncated


def test_notes_past_the_limit_or_past_the_history_read_say_they_are_truncated(store, gitops, monkeypatch):
    first = stored(store, gitops, commit(gitops, "one"), 1)
    commit(gitops, "two")
    second = stored(store, gitops, commit(gitops, "three"), 2)
    monkeypatch.setattr(notes, "NOTES_LIMIT", 1)

    limited = release_notes(store, GitRemote, second.id)
    monkeypatch.setattr(notes, "NOTES_LIMIT", 10)
    monkeypatch.setattr(notes, "HISTORY_DEPTHS", (1,))
    shallow = release_notes(store, GitRemote, second.id)

    assert subjects(limited) == ["three"] and limited.truncated
    assert subjects(shallow) == ["three"] and shallow.truncated
    assert release_notes(store, GitRemote, first.id).previous_release is None


def test_a_release_behind_the_branch_tip_is_found_in_a_deeper_fetch(store, gitops, monkeypatch):
    stored(store, gitops, commit(gitops, "one"), 1)
    second = stored(store, gitops, commit(gitops, "two"), 2)
    for n in range(3):
        commit(gitops, f"later {n}")
    monkeypatch.setattr(notes, "HISTORY_DEPTHS", (2, 10))

    noted = release_notes(store, GitRemote, second.id)

    assert subjects(noted) == ["two"] and not noted.truncated


def test_notes_of_an_unknown_release_are_not_found(store):
    with pytest.raises(ReleaseNotFound):
        release_notes(store, GitRemote, "nope")


def test_issue_keys_are_jira_keys_and_hash_numbers_outside_words_and_urls():
    message = "Fix ABC-12 and #34 (see https://example.com/x#56, abc-7, XABC-9x, ABC-12 again)\n\nCloses #8."

    assert issue_keys(message) == ("ABC-12", "#34", "#8")
