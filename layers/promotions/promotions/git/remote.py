"""GitRemote: read a revision into memory, and commit edits to a branch with a compare-and-swap push.

Nothing touches a disk work tree and no git binary runs: objects live in dulwich memory stores, fetched at
depth 1, and where the server honours partial-clone filters (protocol v2, as GitHub, GitLab and `git
http-backend` with uploadpack.allowFilter do) without blobs, which are then fetched only for the paths asked
for or read. Where it does not, a commit too big for memory stays on disk as the pack received
(`SpillingObjectStore`).

The parts, by job: `fetch` (reading refs, snapshots, history and objects), `new_commit` (the tree and commit
the edits make), `push` (the compare-and-swap push and whether it landed), `revision` (what a caller names);
`GitRemote` puts them together, and retries a commit on the new tip when another writer won.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping

from dulwich.objects import ObjectID
from dulwich.refs import Ref

from .backoff import back_off
from .errors import GitTransientError, PushRaceLost, RefNotFound
from .fetch import Fetcher
from .history import History
from .models import Author, CommitOutcome, HttpCredentials
from .new_commit import build_commit, checked_edits, tree_changes
from .paths import checked_prefix
from .push import Pusher
from .revision import Revision, branch_ref, parse_revision
from .signing import CommitSigner
from .snapshot import Snapshot
from .spilling_store import IN_MEMORY_PACK_LIMIT
from .transport import Transport

logger = logging.getLogger("promotions.git")

Edits = Mapping[str, bytes | None]


class GitRemote:
    """A Git repository reached over smart HTTP(S) or as a local bare repository path. Thread-safe.

    `credentials` may also come as user-info in the URL; explicit ones win. They are sent only in the
    Authorization header and never appear in logs or error messages. `timeout` bounds each socket read, in
    seconds. A fetched pack bigger than `in_memory_pack_limit` bytes (a whole commit from a server without
    partial-clone filters) is kept on disk, in a temporary directory, rather than inflated into memory.
    """

    def __init__(
        self,
        url: str,
        credentials: HttpCredentials | None = None,
        *,
        timeout: float = 60.0,
        in_memory_pack_limit: int = IN_MEMORY_PACK_LIMIT,
    ) -> None:
        self._transport = Transport(url, credentials, timeout)
        self._fetcher = Fetcher(self._transport, in_memory_pack_limit)
        self._pusher = Pusher(self._transport, self._fetcher)

    @property
    def url(self) -> str:
        """The repository URL or path, credentials removed."""
        return self._transport.display_url

    def __repr__(self) -> str:
        return f"GitRemote({self.url!r})"

    def snapshot(self, revision: str, paths: Iterable[str] | None = None) -> Snapshot:
        """The files of `revision`: a branch name, `HEAD`, a full `refs/...` name or a 40-hex commit sha.

        With `paths` (files or directories), where the server supports partial clones, only the trees on the
        way to them and everything under them are fetched up front, in a round trip per directory level and one
        more, or fewer where a directory on the way is one of many siblings and comes whole down to the paths'
        files (docs/performance.md); anything else is fetched when first read or listed. Without, the whole
        tree is fetched. Raises RefNotFound, RepositoryNotFound, GitAuthError, GitTransientError.

        A sha that is no ref tip is asked for directly where the server allows it (protocol v2, local
        repositories). A protocol v0 server such as `git http-backend` without
        uploadpack.allowReachableSHA1InWant refuses that, so branches and tags are fetched at increasing depth
        until the commit turns up.
        """
        prefixes = None if paths is None else _checked_prefixes(paths)
        # Callers read directories this way (an application's, the configuration folder), and files by commit.
        return self._fetcher.snapshot(parse_revision(revision), prefixes, eager_directories=True)

    def commit(
        self,
        branch: str,
        make_edits: Callable[[Snapshot], Edits],
        message: str,
        author: Author,
        *,
        push_to: str | None = None,
        max_attempts: int = 8,
        prefetch: Iterable[str] = (),
        signer: CommitSigner | None = None,
    ) -> CommitOutcome:
        """Apply `make_edits` to the tip of `branch` and push the result as one commit, never forcing.

        `make_edits(snapshot)` returns {path: new content, or None to delete}; it is called again on the new
        tip whenever another writer moved the branch first, so it must derive its edits from the snapshot it
        is given, which is closed when the attempt ends. Edits equal to what the tip holds are dropped; if
        none remain, nothing is committed and `commit_sha` is None. The push is a compare-and-swap on the tip
        the edits were built on; a lost race is retried with jittered exponential backoff up to
        `max_attempts` times, then PushRaceLost is raised.
        A push that failed with an unknown outcome (timeout, dropped connection) is looked for on the remote
        before retrying, so it is never applied twice. `prefetch` names files or directories `make_edits` will
        read, fetched with the tip in one round trip; other files are fetched when read. With `signer`, the
        commit carries its signature (`gpgsig`), as `git commit -S` would make it.

        With `push_to`, the commit is still built on the tip of `branch` but pushed to the branch `push_to`
        (a pull request's branch), which is created if absent. That branch belongs to the caller: the push is
        a compare-and-swap on its current tip (or on its absence), replacing an earlier commit of the
        caller's there. If its tip already is these edits on the current tip of `branch`, it is kept as it is
        and nothing is pushed, so a repeated call never stacks a second commit; `commit_sha` is then that tip.

        Raises PushRaceLost, PushRejected (hook or protection refused the update), RefNotFound (no such
        branch), GitAuthError, RepositoryNotFound, GitTransientError, and ValueError/TypeError for invalid
        edits.
        """
        ref = branch_ref(branch)
        target = ref if push_to is None else branch_ref(push_to)
        if push_to is not None and target == ref:
            raise ValueError(f"push_to must name another branch than {branch!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if not isinstance(message, str) or not message.strip():
            raise ValueError("the commit message is empty")
        if not isinstance(author, Author):
            raise TypeError(f"author must be an Author, got {type(author).__name__}")
        prefixes = _checked_prefixes(prefetch)
        revision = Revision(ref=ref)
        unknown_outcome: GitTransientError | None = None
        # Why the server refused the last attempt's ref update; whether another writer won is told after the
        # back-off, when the tip is as fresh as the next attempt can have it.
        refusal: str | None = None
        expected: ObjectID | None = None
        for attempt in range(1, max_attempts + 1):
            base_revision = revision
            if attempt > 1:
                back_off(attempt - 1)
                if refusal is not None:
                    tip = self._pusher.tip_that_won(target, expected, refusal)
                    if target == ref and tip is not None and self._transport.takes_wants_by_id():
                        # Fetched by id, the tip just listed costs no second listing.
                        base_revision = Revision(ref=ref, sha=tip)
            # What the snapshot keeps on disk goes with the attempt, whatever make_edits kept of it.
            with contextlib.closing(self._fetcher.snapshot(base_revision, prefixes)) as snapshot:
                changes, blobs = tree_changes(snapshot, checked_edits(make_edits(snapshot)), revision.label)
                if not changes:
                    logger.info("%s: nothing to commit, the tip already holds the edits", snapshot)
                    return CommitOutcome(commit_sha=None, base_sha=snapshot.commit_sha, attempts=attempt)
                commit, objects = build_commit(snapshot, changes, blobs, message, author, signer)
                new_commit = commit.id
                base = ObjectID(snapshot.commit_sha.encode())
                changed_paths = tuple(path.decode() for path, _mode, _sha in changes)
                expected = base
                if target != ref:
                    current = self._fetcher.history(target, depth=1).tip
                    if current is not None and current.tree == commit.tree and current.parents == [base]:
                        logger.info(
                            "%s: %s already holds the edits: %s", snapshot, push_to, current.id.decode()
                        )
                        return CommitOutcome(
                            commit_sha=current.id.decode(),
                            base_sha=snapshot.commit_sha,
                            attempts=attempt,
                            changed_paths=changed_paths,
                        )
                    expected = current.id if current is not None else None
                refusal = None
                try:
                    landed, refusal = self._pusher.push(target, expected, new_commit, objects)
                    unknown_outcome = None
                except GitTransientError as error:
                    landed = self._pusher.landed_despite(error, target, expected, new_commit)
                    unknown_outcome = error
                if landed:
                    logger.info(
                        "%s: pushed %s to %s (attempt %d)",
                        snapshot,
                        new_commit.decode(),
                        target.decode(),
                        attempt,
                    )
                    return CommitOutcome(
                        commit_sha=new_commit.decode(),
                        base_sha=snapshot.commit_sha,
                        attempts=attempt,
                        changed_paths=changed_paths,
                    )
                logger.info(
                    "%s: attempt %d did not land, re-applying the edits on the new tip", snapshot, attempt
                )
        if unknown_outcome is not None:
            raise unknown_outcome
        if refusal is not None:
            self._pusher.tip_that_won(target, expected, refusal)
        raise PushRaceLost(
            self._transport.describe(
                "commit to",
                revision.label,
                f"gave up after {max_attempts} attempts: other writers kept moving the branch",
            )
        )

    def history(self, branch: str, depth: int) -> History:
        """The last `depth` commits of `branch`, newest first, without their files: one request where the server
        honours partial-clone filters. Empty when there is no such branch. Raises GitTransientError,
        GitAuthError, RepositoryNotFound."""
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        return self._fetcher.history(branch_ref(branch), depth)

    def default_branch(self) -> str:
        """The branch the remote's HEAD points at: where an Argo CD Application tracking HEAD deploys from."""
        client, path = self._transport.client()
        with self._transport.errors("read refs of", "HEAD"):
            advertised = client.get_refs(path.encode(), ref_prefix=[b"HEAD"])
        target = (advertised.symrefs or {}).get(Ref(b"HEAD"))
        if target is None or not target.startswith(b"refs/heads/"):
            raise RefNotFound(
                self._transport.describe("read refs of", "HEAD", "the server names no default branch")
            )
        return target.decode().removeprefix("refs/heads/")


def _checked_prefixes(paths: Iterable[str]) -> list[str]:
    if isinstance(paths, str):
        raise TypeError(f"paths must be an iterable of paths, not a single string: {paths!r}")
    return [checked_prefix(path) for path in paths]
