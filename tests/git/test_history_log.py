"""A range of a branch's history (`git log older..newer`), and what the depth fetched lets it tell."""

from __future__ import annotations

from promotions.git import GitRemote


def ids(log) -> list[str]:
    return [commit.id.decode() for commit in log.commits]


def test_a_range_lists_the_newer_commits_newest_first_and_leaves_out_the_older_ones(
    remote: GitRemote, add_commits
):
    shas = add_commits(5)

    log = remote.history("main", depth=10).log(shas[3], shas[0], limit=10)

    assert log is not None and ids(log) == [shas[3], shas[2], shas[1]]
    assert not log.more and not log.cut_short


def test_a_range_over_the_limit_says_there_is_more(remote: GitRemote, add_commits):
    shas = add_commits(5)

    log = remote.history("main", depth=10).log(shas[4], shas[0], limit=2)

    assert log is not None and ids(log) == [shas[4], shas[3]] and log.more


def test_a_range_running_past_the_depth_is_cut_short_and_a_commit_not_fetched_has_none(
    remote: GitRemote, add_commits
):
    shas = add_commits(6)
    history = remote.history("main", depth=3)

    log = history.log(shas[5], shas[0], limit=10)

    assert log is not None and ids(log) == [shas[5], shas[4], shas[3]] and log.cut_short
    assert history.log(shas[1], None, limit=10) is None
    assert ids(history.log(shas[5], shas[5], limit=10)) == []


def test_commits_the_caller_does_not_list_are_passed_over_and_not_counted(remote: GitRemote, add_commits):
    shas = add_commits(5)
    odd = {shas[1], shas[3]}

    log = remote.history("main", depth=10).log(
        shas[4], shas[0], limit=1, listed=lambda c: c.id.decode() in odd
    )

    assert log is not None and ids(log) == [shas[3]] and log.more
