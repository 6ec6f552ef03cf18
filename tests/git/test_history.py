"""A branch's recent history: commits without files, newest first, and what its depth can tell."""

from __future__ import annotations

from promotions.git import GitRemote


def test_the_history_lists_the_branch_newest_first_down_to_its_depth(remote: GitRemote, add_commits):
    shas = add_commits(5)

    history = remote.history("main", depth=3)

    assert [commit.id.decode() for commit in history.commits()] == shas[::-1][:3]
    assert history.tip is not None and history.tip.id.decode() == shas[-1]
    assert shas[1] not in history


def test_reaches_says_yes_no_or_that_the_depth_cannot_tell(remote: GitRemote, add_commits):
    shas = add_commits(6)

    history = remote.history("main", depth=4)

    assert history.reaches(shas[5], shas[3]) is True
    assert history.reaches(shas[3], shas[5]) is None, "the older commit's history runs past the depth"
    assert history.reaches(shas[5], shas[0]) is None, "beyond the depth"
    assert history.reaches(shas[0], shas[5]) is None, "not among the commits fetched"
    whole = remote.history("main", depth=100)
    assert whole.reaches(shas[3], shas[5]) is False


def test_a_branch_that_does_not_exist_has_no_history(remote: GitRemote):
    history = remote.history("nowhere", depth=8)

    assert history.tip is None and list(history.commits()) == []
