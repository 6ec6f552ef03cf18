"""GitHub `push` webhook payloads, shaped as GitHub sends them, for pushes the local mode makes itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from promotions.git import Author, GitRemote, Snapshot


def github_push_payload(
    *,
    clone_url: str,
    branch: str,
    before: str,
    after: str,
    message: str,
    author_name: str,
    author_email: str,
    modified: Iterable[str] = (),
    added: Iterable[str] = (),
    removed: Iterable[str] = (),
) -> dict:
    name = clone_url.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1]
    timestamp = datetime.now(UTC).isoformat(timespec="seconds")
    author = {"name": author_name, "email": author_email, "username": author_name}
    commit = {
        "id": after,
        "tree_id": None,
        "distinct": True,
        "message": message,
        "timestamp": timestamp,
        "url": f"{clone_url.removesuffix('.git')}/commit/{after}",
        "author": author,
        "committer": author,
        "added": sorted(added),
        "removed": sorted(removed),
        "modified": sorted(modified),
    }
    return {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"{clone_url.removesuffix('.git')}/compare/{before[:12]}...{after[:12]}",
        "commits": [commit],
        "head_commit": commit,
        "repository": {
            "name": name,
            "full_name": f"local/{name}",
            "clone_url": clone_url,
            "html_url": clone_url.removesuffix(".git"),
            "default_branch": branch,
            "master_branch": branch,
        },
        "pusher": {"name": author_name, "email": author_email},
        "sender": {"login": author_name},
    }


def push_and_describe(
    repo_url: str,
    branch: str,
    make_edits: Callable[[Snapshot], Mapping[str, bytes]],
    message: str,
    author: Author,
) -> dict:
    """Commit to a repository as a developer's push would, and describe that push as GitHub's webhook does."""
    outcome = GitRemote(repo_url).commit(branch, make_edits, message, author)
    if outcome.commit_sha is None:
        raise ValueError(f"{repo_url} {branch}: the edits change nothing, so there is no push to describe")
    return github_push_payload(
        clone_url=repo_url,
        branch=branch,
        before=outcome.base_sha,
        after=outcome.commit_sha,
        message=message,
        author_name=author.name,
        author_email=author.email,
        modified=outcome.changed_paths,
    )
