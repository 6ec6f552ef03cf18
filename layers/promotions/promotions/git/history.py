"""A branch's recent history: its commits without their trees, as far back as they were fetched."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dulwich.objects import Commit, ObjectID
from dulwich.repo import MemoryRepo


@dataclass(frozen=True)
class Log:
    """Commits of a range, newest first: `more` when the limit left some out, `cut_short` when the commits
    fetched ended before the range did (a deeper fetch may tell more)."""

    commits: list[Commit]
    more: bool
    cut_short: bool


class History:
    """The commits of a branch down to a depth (a shallow fetch): messages, parents and dates, no files.

    A commit at the depth has parents the fetch left out: past it, the history is not known."""

    def __init__(self, repo: MemoryRepo, tip: ObjectID | None) -> None:
        self._repo = repo
        self._tip = tip

    @property
    def tip(self) -> Commit | None:
        """The branch's commit; None for a branch that does not exist."""
        return None if self._tip is None else self._commit(self._tip)

    def __contains__(self, commit_sha: str) -> bool:
        return self._tip is not None and ObjectID(commit_sha.encode()) in self._repo.object_store

    def commits(self) -> Iterator[Commit]:
        """Newest first, as `git log` lists them, down to the depth fetched."""
        if self._tip is None:
            return
        for entry in self._repo.get_walker(include=[self._tip]):
            yield entry.commit

    def reaches(self, descendant: str, ancestor: str) -> bool | None:
        """Whether `ancestor` is in the history of `descendant` (or is it); None when the commits fetched end
        before that is known: `descendant` is not among them, or its history runs past the depth."""
        if descendant not in self:
            return None
        shallow = self._repo.get_shallow()
        cut_short = False
        for entry in self._repo.get_walker(include=[ObjectID(descendant.encode())]):
            if entry.commit.id == ancestor.encode():
                return True
            cut_short = cut_short or entry.commit.id in shallow
        return None if cut_short else False

    def log(
        self,
        newest: str,
        excluded: str | None,
        limit: int,
        listed: Callable[[Commit], bool] = lambda commit: True,
    ) -> Log | None:
        """As `git log excluded..newest`: the commits `newest` reaches and `excluded` does not (all it reaches
        when None), newest first, at most `limit` of those `listed` keeps. None when `newest` is not among the
        commits fetched."""
        if newest not in self:
            return None
        exclude = [ObjectID(excluded.encode())] if excluded is not None and excluded in self else []
        shallow = self._repo.get_shallow()
        commits: list[Commit] = []
        cut_short = False
        for entry in self._repo.get_walker(include=[ObjectID(newest.encode())], exclude=exclude):
            if not listed(entry.commit):
                # Past a commit at the depth fetched, where the range ends is unknown.
                cut_short = cut_short or entry.commit.id in shallow
                continue
            if len(commits) == limit:
                return Log(commits, more=True, cut_short=False)
            commits.append(entry.commit)
            cut_short = cut_short or entry.commit.id in shallow
        return Log(commits, more=False, cut_short=cut_short)

    def _commit(self, commit_id: ObjectID) -> Commit:
        commit = self._repo.object_store[commit_id]
        if not isinstance(commit, Commit):
            raise TypeError(f"{commit_id.decode()} is a {commit.type_name.decode()}, not a commit")
        return commit
