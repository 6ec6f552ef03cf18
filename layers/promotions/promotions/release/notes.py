"""Release notes, as Codefresh's Releases page has them: the commits of the trigger environment's source from the
previous release of the product's flow to this one, with their authors and the issue keys their messages name.
The engine's own promotion commits, where the source branch is also an environment's, are left out.

The history is read as the engine reads a source branch's order (promotions.release.supersession): the branch's
latest commits without their files, fetched deeper when the release's range runs past them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from dulwich.objects import Commit
from pydantic import BaseModel, ConfigDict

from promotions.git import trailers_of
from promotions.release.model import Release
from promotions.release.start import RemoteFactory
from promotions.release.store import ReleaseStore
from promotions.release.supersession import RELEASE_TRAILER

# The most commits one release's notes list; past it they say they are truncated.
NOTES_LIMIT = 200
# How deep the source branch's history is fetched, the deeper only when the shallower ended inside the range.
HISTORY_DEPTHS = (256, 4096)
# How many pages of the flow's earlier releases are read to find the previous one.
_PAGES_READ = 4
_PAGE = 25
# JIRA-style keys (ABC-123) and GitHub, GitLab or Bitbucket references (#123), not inside a word or a URL.
_ISSUE_KEY = re.compile(r"(?<![\w-])[A-Z][A-Z0-9_]+-[1-9][0-9]*(?![\w-])|(?<![\w&/#])#[1-9][0-9]*(?!\w)")


class NotedCommit(BaseModel):
    model_config = ConfigDict(frozen=True)

    commit: str
    author: str
    at: datetime
    subject: str
    issues: tuple[str, ...]


class ReleaseNotes(BaseModel):
    model_config = ConfigDict(frozen=True)

    release: str
    previous_release: str | None
    # Newest first, as `git log` lists them.
    commits: tuple[NotedCommit, ...]
    # More commits belong to the range than are listed: over NOTES_LIMIT, or past the history that was read.
    truncated: bool


def release_notes(store: ReleaseStore, remotes: RemoteFactory, release_id: str) -> ReleaseNotes:
    """The commits of `release_id`'s source branch after the previous release's source commit, up to and with
    its own (every commit its source reaches, for a flow's first release). Raises ReleaseNotFound."""
    release = store.get(release_id)
    previous = previous_release(store, release)
    remote = remotes(release.source.repo_url)
    log = None
    for depth in HISTORY_DEPTHS:
        history = remote.history(release.source.branch, depth)
        log = history.log(
            release.source.commit,
            previous.source.commit if previous else None,
            NOTES_LIMIT,
            listed=lambda commit: not _is_promotion(commit),
        )
        if log is not None and not log.cut_short:
            break
    return ReleaseNotes(
        release=release.id,
        previous_release=previous.id if previous else None,
        commits=tuple(_noted(commit) for commit in log.commits) if log else (),
        truncated=log is None or log.more or log.cut_short,
    )


def previous_release(store: ReleaseStore, release: Release) -> Release | None:
    """The newest release of the product's flow created before `release` that took its source from the same
    environment and branch; rollbacks, which restore an older source, do not count."""
    token = None
    for _ in range(_PAGES_READ):
        page = store.list_releases(
            product=release.product,
            flow=release.flow,
            until=release.created_at,
            limit=_PAGE,
            next_token=token,
        )
        for summary in page.releases:
            earlier = store.get(summary.id)
            if (
                earlier.rollback_of is None
                and earlier.trigger_environment == release.trigger_environment
                and (earlier.source.repo_url, earlier.source.branch)
                == (release.source.repo_url, release.source.branch)
            ):
                return earlier
        token = page.next_token
        if token is None:
            break
    return None


def _is_promotion(commit: Commit) -> bool:
    """A promotion commit of the engine's own, on a source branch that is also an environment's: not a change
    the release carries from its source."""
    return RELEASE_TRAILER in trailers_of(commit.message)


def issue_keys(message: str) -> tuple[str, ...]:
    """The issue keys a commit message names, each once, in the order it names them."""
    return tuple(dict.fromkeys(_ISSUE_KEY.findall(message)))


def _noted(commit: Commit) -> NotedCommit:
    message = commit.message.decode(errors="replace")
    identity = commit.author.decode(errors="replace")
    offset = timezone(timedelta(seconds=commit.author_timezone))
    return NotedCommit(
        commit=commit.id.decode(),
        author=identity.partition(" <")[0].strip() or identity,
        at=datetime.fromtimestamp(commit.author_time, offset),
        subject=message.split("\n", 1)[0].strip(),
        issues=issue_keys(message),
    )
