"""GitRemote: read a revision into memory, and commit edits to a branch with a compare-and-swap push.

Nothing touches a disk work tree and no git binary runs: objects live in dulwich memory stores, fetched at
depth 1, and where the server honours partial-clone filters (protocol v2, as GitHub, GitLab and `git
http-backend` with uploadpack.allowFilter do) without blobs, which are then fetched only for the paths asked
for or read. Where it does not, a commit too big for memory stays on disk as the pack received
(`SpillingObjectStore`).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import random
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from dulwich.client import FetchPackResult, GitClient, LocalGitClient
from dulwich.errors import HangupException
from dulwich.file import FileLocked
from dulwich.object_store import MemoryObjectStore, OverlayObjectStore, commit_tree_changes
from dulwich.objects import S_ISGITLINK, Blob, Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.pack import UnpackedObject, pack_objects_to_data
from dulwich.refs import check_ref_format
from dulwich.repo import MemoryRepo

from .errors import GitError, GitTransientError, PushRaceLost, PushRejected, RefNotFound
from .history import History
from .models import Author, CommitOutcome, HttpCredentials
from .paths import checked_path, checked_prefix
from .recent import RecentObjects
from .signing import CommitSigner
from .snapshot import Reach, Snapshot
from .spilling_store import IN_MEMORY_PACK_LIMIT, SpillingObjectStore
from .transport import Transport, refused_by_server

logger = logging.getLogger("promotions.git")

Edits = Mapping[str, bytes | None]
_DetermineWants = Callable[..., list[ObjectID]]

_BLOBLESS = b"blob:none"
# No tree or blob beyond the objects wanted: a commit without its tree, a wanted tree without its entries.
_COMMITS_ONLY = b"tree:0"
_ROOT_TREE_ONLY = b"tree:1"
# The root tree, and what it names: the top-level directories' trees and the files at the root. (Without those
# files it would be combine:tree:2+blob:none, which `git http-backend` serves ~4 ms slower and fewer hosts allow.)
_TOP_LEVEL_TREES = b"tree:2"
# Filters a snapshot is fetched with, most sparing first, each tried when the server refuses the one before;
# None, the whole tree, comes last. A commit needs only the trees on the paths it reads and writes: its
# root tree comes with the commit (tree:1), or one round trip later where a host caps tree depth at 0.
_TREELESS_FILTERS = (_ROOT_TREE_ONLY, _COMMITS_ONLY, _BLOBLESS, None)
# For paths in subdirectories, the top-level directories come with the commit too: a GitOps repository has a
# few (apps/, clusters/, ...) and small files at its root, which cost less than the round trip fetching the
# directory on the path.
_TREELESS_FILTERS_FOR_SUBDIRECTORIES = (_TOP_LEVEL_TREES, *_TREELESS_FILTERS)
_REACH_FILTERS = {
    Reach.NOTHING: _COMMITS_ONLY,
    Reach.ENTRIES: _ROOT_TREE_ONLY,
    Reach.TREES: _BLOBLESS,
    Reach.EVERYTHING: None,
}
# What a directory fetched whole down to the files on a path (Snapshot: MANY_SIBLINGS) may bring, on average over
# those fetched together, before the fetch is given up for a round trip per directory level: more than the listings
# and files of an application is not worth the round trip it saves on a slow link.
_SUBTREE_BYTES_PER_DIRECTORY = 64 * 1024
# Objects fetched by id, kept so that a commit retried on a new tip fetches only what changed.
_RECENT_OBJECTS_BYTES = 4 * 1024 * 1024
# Depths tried in turn to find a commit a protocol v0 server will not serve by sha; None: the whole history.
_DEEPENING_STEPS = (16, 256, 4096, None)
# How far back a push whose outcome is unknown is looked for, if other commits landed on top of it meanwhile.
_UNKNOWN_PUSH_SEARCH_DEPTH = 64
# Fetches repeated when a protocol v0 server refused a tip because its ref moved since it was advertised.
_MOVED_TIP_RETRIES = 8
_BACKOFF_FIRST_SECONDS = 0.05
_BACKOFF_CAP_SECONDS = 5.0
_SHA = re.compile(r"[0-9a-fA-F]{40}")
# What of a server's messages (a hook's output) a refusal quotes, at most.
_SERVER_MESSAGE_CHARACTERS = 300
_TERMINAL_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
_REGULAR_FILE = 0o100644
_EXECUTABLE_FILE = 0o100755
_TIP_PREFIXES = (b"refs/heads/", b"refs/tags/")


@dataclass(frozen=True)
class _Revision:
    """A ref (branch, tag, HEAD) or a commit sha; or both: the commit, which the ref was seen to point at."""

    ref: bytes | None = None
    sha: ObjectID | None = None

    @property
    def label(self) -> str:
        return (self.ref or self.sha or b"").decode()


class _WantNotAdvertised(Exception):
    """The server speaks protocol v0 and the commit is no ref tip: asking for it would be refused."""


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
        # A fetched pack over this many bytes stays on disk, its objects read from there (SpillingObjectStore).
        self._in_memory_pack_limit = in_memory_pack_limit
        # None until a fetch shows whether the server honours partial-clone filters (a benign race).
        self._filters_honoured: bool | None = None
        # Filters the server refused, not tried again (replaced whole: a benign race).
        self._refused_filters: frozenset[bytes] = frozenset()
        # Set once directories fetched whole went over _SUBTREE_BYTES_PER_DIRECTORY: this repository's are too big.
        self._subtrees_too_big = False
        # The least tree depth refused for directories fetched whole. Apart from _refused_filters, which chooses
        # the tip's filter: a refusal here may have been a dropped connection, and costs only that shortcut.
        self._least_subtree_depth_refused: int | None = None
        self._recent_objects = RecentObjects(_RECENT_OBJECTS_BYTES)

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
        return self._snapshot(_parse_revision(revision), prefixes, eager_directories=True)

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
        ref = _branch_ref(branch)
        target = ref if push_to is None else _branch_ref(push_to)
        if push_to is not None and target == ref:
            raise ValueError(f"push_to must name another branch than {branch!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if not isinstance(message, str) or not message.strip():
            raise ValueError("the commit message is empty")
        if not isinstance(author, Author):
            raise TypeError(f"author must be an Author, got {type(author).__name__}")
        prefixes = _checked_prefixes(prefetch)
        revision = _Revision(ref=ref)
        unknown_outcome: GitTransientError | None = None
        # Why the server refused the last attempt's ref update; whether another writer won is told after the
        # back-off, when the tip is as fresh as the next attempt can have it.
        refusal: str | None = None
        expected: ObjectID | None = None
        for attempt in range(1, max_attempts + 1):
            base_revision = revision
            if attempt > 1:
                _back_off(attempt - 1)
                if refusal is not None:
                    tip = self._tip_that_won(target, expected, refusal)
                    if target == ref and tip is not None and self._transport.takes_wants_by_id():
                        # Fetched by id, the tip just listed costs no second listing.
                        base_revision = _Revision(ref=ref, sha=tip)
            # What the snapshot keeps on disk goes with the attempt, whatever make_edits kept of it.
            with contextlib.closing(self._snapshot(base_revision, prefixes)) as snapshot:
                changes, blobs = _tree_changes(snapshot, _checked_edits(make_edits(snapshot)), revision.label)
                if not changes:
                    logger.info("%s: nothing to commit, the tip already holds the edits", snapshot)
                    return CommitOutcome(commit_sha=None, base_sha=snapshot.commit_sha, attempts=attempt)
                commit, objects = _build_commit(snapshot, changes, blobs, message, author, signer)
                new_commit = commit.id
                base = ObjectID(snapshot.commit_sha.encode())
                changed_paths = tuple(path.decode() for path, _mode, _sha in changes)
                expected = base
                if target != ref:
                    current = self._history(target, depth=1).tip
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
                    landed, refusal = self._push(target, expected, new_commit, objects)
                    unknown_outcome = None
                except GitTransientError as error:
                    landed = self._landed_despite(error, target, expected, new_commit)
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
            self._tip_that_won(target, expected, refusal)
        raise PushRaceLost(
            self._transport.describe(
                "commit to",
                revision.label,
                f"gave up after {max_attempts} attempts: other writers kept moving the branch",
            )
        )

    def _snapshot(
        self, revision: _Revision, eager: list[str] | None, *, eager_directories: bool = False
    ) -> Snapshot:
        """A snapshot of `revision`: the whole tree if `eager` is None. Else, where the server honours
        partial-clone filters, only the trees on the paths to the `eager` prefixes and everything under those
        prefixes, the rest on first use. `eager_directories`: the prefixes are mostly directories (see
        `Snapshot._prefetch`)."""
        if eager is None or self._filters_honoured is False:
            filters: tuple[bytes | None, ...] = (None,)
        else:
            if any("/" in prefix for prefix in eager):
                candidates = _TREELESS_FILTERS_FOR_SUBDIRECTORIES
            else:
                candidates = _TREELESS_FILTERS
            filters = tuple(spec for spec in candidates if spec not in self._refused_filters)
        repo, fetched, filter_spec = self._fetch_filtered(revision, filters)
        commit = _peel_to_commit(
            repo.object_store, fetched, self._transport.describe("fetch", revision.label)
        )
        snapshot = Snapshot(
            commit_sha=commit.id.decode(),
            tree_id=commit.tree,
            store=repo.object_store,
            fetch_objects=functools.partial(self._fetch_objects, revision.label),
            fetch_subtrees=functools.partial(self._fetch_subtrees, revision.label),
            description=f"{self.url} {revision.label}" if revision.ref else self.url,
        )
        if filter_spec is None:
            logger.info("%s: full tree fetched", snapshot)
            return snapshot
        holds_every_object = snapshot._holds_every_object()
        if holds_every_object is False:
            self._filters_honoured = True
            prefetched = snapshot._prefetch(eager or [], directories=eager_directories)
            if filter_spec == _BLOBLESS:
                how = ""
            elif snapshot.directories_fetched_whole:
                how = f" with the trees on their paths, {snapshot.directories_fetched_whole} directory(ies) whole"
            else:
                how = " with only the trees on their paths"
            logger.info(
                "%s: partial clone (filter %s); %d file(s) under %s fetched%s, others on first read",
                snapshot,
                filter_spec.decode(),
                prefetched,
                eager,
                how,
            )
        elif holds_every_object:
            self._filters_honoured = False
            logger.info("%s: the server ignores partial-clone filters, full tree fetched", snapshot)
        return snapshot

    def _fetch_filtered(
        self, revision: _Revision, filters: Sequence[bytes | None]
    ) -> tuple[MemoryRepo, ObjectID, bytes | None]:
        """Fetch `revision` at depth 1 with the first of `filters` the server does not refuse; return what was
        fetched, the object `revision` names and the filter used. `filters` must end with None (no filter)."""
        refused: list[bytes] = []
        remaining = list(filters)
        while remaining:
            filter_spec = remaining[0]
            try:
                with self._transport.errors("fetch", revision.label):
                    if revision.sha is not None:
                        repo, fetched = self._fetch_commit(revision.sha, filter_spec), revision.sha
                    else:
                        assert revision.ref is not None
                        repo, fetched = self._fetch_ref(revision.ref, filter_spec)
            except GitError as error:
                if filter_spec is None or not refused_by_server(error):
                    raise
                if self._transport.distrust_presumed_capabilities():
                    logger.info(
                        "%s: filter %s refused on presumed capabilities (%s); asking the server for them",
                        self.url,
                        filter_spec.decode(),
                        error,
                    )
                    continue
                fallback = remaining[1] if len(remaining) > 1 else None
                logger.warning(
                    "%s: filter %s refused (%s); fetching with %s instead",
                    self.url,
                    filter_spec.decode(),
                    error,
                    f"filter {fallback.decode()}" if fallback is not None else "no filter",
                )
                refused.append(filter_spec)
                remaining.pop(0)
                continue
            if refused:
                # Remembered once another fetch worked, so that an outage is not taken for refusals.
                self._refused_filters = self._refused_filters.union(refused)
            return repo, fetched, filter_spec
        raise AssertionError(f"the filters to try must end with None, got {filters!r}")

    def _fetch_advertised(
        self,
        label: str,
        choose: Callable[[Mapping[bytes, ObjectID]], list[ObjectID]],
        *,
        depth: int | None,
        filter_spec: bytes | None,
        ref_prefix: Sequence[bytes],
    ) -> tuple[MemoryRepo, list[ObjectID]]:
        """Fetch the ref tips `choose` picks from the advertisement; return them with what was fetched.

        Over stateless HTTP the refs are advertised in one request and wanted in the next. A protocol v0
        server refuses a want whose ref moved in between, so the fetch is repeated while that is what went
        wrong. The tips are those wanted, not the refs the fetch's result names: a local repository reads
        those again after packing, when another writer may have moved them.
        """
        chosen: list[ObjectID] = []

        def determine_wants(refs: Mapping[bytes, ObjectID], depth: int | None = None) -> list[ObjectID]:
            chosen[:] = choose(refs)
            return chosen

        for attempt in itertools.count(1):
            client, path = self._transport.client()
            chosen.clear()
            try:
                with self._transport.errors("fetch", label):
                    repo, _result = _fetch_into_new_repository(
                        client,
                        path,
                        determine_wants,
                        depth=depth,
                        filter_spec=filter_spec,
                        ref_prefix=ref_prefix,
                        in_memory_limit=self._in_memory_pack_limit,
                    )
                return repo, list(chosen)
            except GitError as error:
                if attempt == _MOVED_TIP_RETRIES or not chosen or _accepts_any_want(client):
                    raise
                if self._advertised(ref_prefix).issuperset(chosen):
                    raise
                logger.info(
                    "%s %s: a ref moved between advertisement and want (%s); fetching again",
                    self.url,
                    label,
                    error,
                )
                _back_off(attempt)
        raise AssertionError("itertools.count never ends")

    def _fetch_ref(self, ref: bytes, filter_spec: bytes | None) -> tuple[MemoryRepo, ObjectID]:
        def tip_of_ref(refs: Mapping[bytes, ObjectID]) -> list[ObjectID]:
            if ref not in refs:
                raise RefNotFound(self._transport.describe("fetch", ref.decode(), "no such ref"))
            return [refs[ref]]

        repo, [tip] = self._fetch_advertised(
            ref.decode(), tip_of_ref, depth=1, filter_spec=filter_spec, ref_prefix=[ref]
        )
        return repo, tip

    def _fetch_commit(self, sha: ObjectID, filter_spec: bytes | None) -> MemoryRepo:
        client, path = self._transport.client(by_object_id=self._transport.takes_wants_by_id())

        def want_commit(refs: Mapping[bytes, ObjectID], depth: int | None = None) -> list[ObjectID]:
            if _accepts_any_want(client):
                return [sha]
            raise _WantNotAdvertised

        # With a filter, what the server refuses may be the filter: the caller then tries without one.
        refused = RefNotFound if filter_spec is None else GitError
        try:
            with self._transport.errors("fetch", sha.decode(), refused=refused):
                repo, _result = _fetch_into_new_repository(
                    client,
                    path,
                    want_commit,
                    depth=1,
                    filter_spec=filter_spec,
                    ref_prefix=[b"HEAD"],
                    in_memory_limit=self._in_memory_pack_limit,
                )
        except _WantNotAdvertised:
            return self._fetch_by_deepening(sha)
        except GitTransientError as error:
            # git http-backend hangs up on a want for an unknown object rather than sending an ERR line. If
            # the server answers another request, it is up: the commit is what it refused.
            if filter_spec is not None or not isinstance(error.__cause__, HangupException):
                raise
            self._advertised([b"HEAD"])
            raise RefNotFound(
                self._transport.describe(
                    "fetch", sha.decode(), "the server hung up on a want for this commit"
                )
            ) from error
        return repo

    def _fetch_by_deepening(self, sha: ObjectID) -> MemoryRepo:
        """Fetch `sha` from a server that serves only advertised tips: as a tip if it is one, else by
        deepening the history of every branch and tag until it shows up."""
        repo, _tips = self._fetch_advertised(
            sha.decode(),
            lambda refs: [sha] if sha in refs.values() else [],
            depth=1,
            filter_spec=None,
            ref_prefix=[b"HEAD", *_TIP_PREFIXES],
        )
        if sha in repo.object_store:
            return repo
        for depth in _DEEPENING_STEPS:
            logger.info(
                "%s: %s cannot be asked for by sha (protocol v0 without "
                "uploadpack.allowReachableSHA1InWant): fetching every branch and tag at depth %s",
                self.url,
                sha.decode(),
                depth or "unlimited",
            )
            repo, _tips = self._fetch_advertised(
                sha.decode(), _branch_and_tag_tips, depth=depth, filter_spec=None, ref_prefix=_TIP_PREFIXES
            )
            if sha in repo.object_store:
                return repo
            if not repo.get_shallow():
                break
        raise RefNotFound(
            self._transport.describe("fetch", sha.decode(), "no branch or tag contains this commit")
        )

    def history(self, branch: str, depth: int) -> History:
        """The last `depth` commits of `branch`, newest first, without their files: one request where the server
        honours partial-clone filters. Empty when there is no such branch. Raises GitTransientError,
        GitAuthError, RepositoryNotFound."""
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        return self._history(_branch_ref(branch), depth)

    def default_branch(self) -> str:
        """The branch the remote's HEAD points at: where an Argo CD Application tracking HEAD deploys from."""
        client, path = self._transport.client()
        with self._transport.errors("read refs of", "HEAD"):
            advertised = client.get_refs(path, ref_prefix=[b"HEAD"])
        target = (advertised.symrefs or {}).get(b"HEAD")
        if target is None or not target.startswith(b"refs/heads/"):
            raise RefNotFound(self._transport.describe("read refs of", "HEAD", "the server names no default branch"))
        return target.decode().removeprefix("refs/heads/")

    def _advertised(self, ref_prefix: Sequence[bytes]) -> set[ObjectID]:
        client, path = self._transport.client()
        with self._transport.errors("read refs of", None):
            refs = client.get_refs(path, ref_prefix=list(ref_prefix)).refs
        return {sha for sha in refs.values() if sha is not None}

    def _fetch_objects(self, label: str, object_ids: Sequence[ObjectID], reach: Reach) -> list[ShaFile]:
        """Objects by id and what `reach` says comes with them, with no negotiation: a `have` would make the
        server leave out exactly what is wanted. Those fetched lately are not fetched again, except trees
        wanted with all that lies under them."""
        if reach is Reach.ENTRIES and _REACH_FILTERS[reach] in self._refused_filters:
            reach = Reach.NOTHING
        reused = [
            found
            for found in map(self._recent_objects.get, object_ids)
            if found is not None
            and (reach in (Reach.NOTHING, Reach.ENTRIES) or not isinstance(found, Tree))
        ]
        reused_ids = {obj.id for obj in reused}
        wanted = [object_id for object_id in object_ids if object_id not in reused_ids]
        if not wanted:
            return reused
        return reused + self._fetch_by_id(label, wanted, _REACH_FILTERS[reach])

    def _fetch_subtrees(self, label: str, tree_ids: Sequence[ObjectID], levels: int) -> list[ShaFile] | None:
        """Trees by id with every tree and file within `levels` directory levels of them (filter tree:`levels`),
        in one request; None where that is not worth trying or did not work out, for the caller to walk a level
        per round trip: the server refused that depth, a fetch went over _SUBTREE_BYTES_PER_DIRECTORY (and the
        remote stops trying), or the trees were fetched lately, which the walk then takes from memory."""
        filter_spec = f"tree:{levels}".encode()
        # A host caps tree depth: one that refused a depth refuses every deeper one.
        refused = any(f"tree:{depth}".encode() in self._refused_filters for depth in range(levels + 1)) or (
            self._least_subtree_depth_refused is not None and levels >= self._least_subtree_depth_refused
        )
        if self._subtrees_too_big or refused:
            return None
        if any(self._recent_objects.get(tree_id) is not None for tree_id in tree_ids):
            return None
        try:
            return self._fetch_by_id(
                label, tree_ids, filter_spec, byte_limit=_SUBTREE_BYTES_PER_DIRECTORY * len(tree_ids)
            )
        except _PackOverLimit:
            self._subtrees_too_big = True
            logger.info(
                "%s: directories fetched whole went over %d KiB each; fetching a directory level per round "
                "trip from now on",
                self.url,
                _SUBTREE_BYTES_PER_DIRECTORY // 1024,
            )
            return None
        except GitError as error:
            if not refused_by_server(error):
                raise
            logger.info(
                "%s: filter %s refused (%s); fetching a directory level per round trip",
                self.url,
                filter_spec.decode(),
                error,
            )
            self._least_subtree_depth_refused = min(levels, self._least_subtree_depth_refused or levels)
            return None

    def _fetch_by_id(
        self,
        label: str,
        object_ids: Sequence[ObjectID],
        filter_spec: bytes | None,
        *,
        byte_limit: int | None = None,
    ) -> list[ShaFile]:
        """`object_ids` and what `filter_spec` lets come with them, in one request, kept among the objects
        fetched lately. Raises _PackOverLimit past `byte_limit`."""
        client, path = self._transport.client(by_object_id=True)
        with self._transport.errors("fetch objects of", label):
            repo, _result = _fetch_into_new_repository(
                client,
                path,
                lambda refs, depth=None: list(object_ids),
                depth=None,
                filter_spec=filter_spec,
                ref_prefix=[b"HEAD"],
                in_memory_limit=self._in_memory_pack_limit,
                byte_limit=byte_limit,
            )
        fetched = [repo.object_store.view(object_id) for object_id in repo.object_store]
        self._recent_objects.add(fetched)
        return fetched

    def _push(
        self, ref: bytes, base: ObjectID | None, new_commit: ObjectID, objects: list[ShaFile]
    ) -> tuple[bool, str | None]:
        """Push `new_commit` if the remote ref still is `base` (None: still absent). Return whether it landed
        and, if the server refused the ref update, why, with what the server said: another writer moved the
        ref, or a hook or branch protection refused it (`_tip_that_won` tells). A ref another writer holds
        locked (a repository given by path) did not move: that is a race lost like any other, with no refusal.
        Raises PushRejected."""
        label = ref.decode()
        client, path = self._transport.client(expected_refs={} if base is None else {ref: base})
        seen_at: list[ObjectID | None] = []
        # The server's messages (a hook's output): the only place it says why it refused.
        server_messages: list[bytes] = []

        def compare_and_swap(refs: Mapping[bytes, ObjectID]) -> dict[bytes, ObjectID]:
            # A local repository's refs are re-read here: returning {ref: new} unchecked would force-push. Over
            # HTTP they are `expected_refs`, sent back as the old values the server checks.
            seen_at.append(refs.get(ref))
            return {ref: new_commit} if refs.get(ref) == base else {}

        def new_objects_only(
            have: AbstractSet[ObjectID],
            want: AbstractSet[ObjectID],
            *,
            ofs_delta: bool = False,
            progress: Callable[[bytes], None] | None = None,
        ) -> tuple[int, Iterator[UnpackedObject]]:
            return pack_objects_to_data(objects)

        try:
            with self._transport.errors("push to", label):
                result = client.send_pack(path, compare_and_swap, new_objects_only, server_messages.append)
        except FileLocked:
            logger.info("%s %s: another writer holds the ref locked", self.url, label)
            return False, None
        except GitError as error:
            # A request the server refused outright (not a ref it refused, not a failure midway) changed nothing.
            midway = isinstance(error, GitTransientError | PushRejected)
            if midway or not refused_by_server(error):
                raise
            if not self._transport.ask_for_ref_advertisements_before_pushing():
                raise
            logger.warning(
                "%s %s: a push without the ref advertisement was refused (%s); asking for it first",
                self.url,
                label,
                error,
            )
            return self._push(ref, base, new_commit, objects)
        if seen_at and seen_at[-1] != base:
            return False, None
        # send_pack does not raise when the server refuses a ref: the verdict is only in ref_status.
        if result.ref_status is None or ref not in result.ref_status:
            return self._landed(ref, base, new_commit), None
        reason = result.ref_status[ref]
        if reason is None:
            return True, None
        said = _server_said(server_messages)
        return False, f"{reason} ({said})" if said and said not in reason else reason

    def _tip_that_won(self, ref: bytes, base: ObjectID | None, refusal: str) -> ObjectID | None:
        """Where `ref` is now that the server refused to move it from `base` for `refusal`; PushRejected if it is
        still at `base`: then no writer won, a hook or branch protection refused the update."""
        tip = self._remote_tip(ref)
        if tip == base:
            raise PushRejected(
                self._transport.describe("push to", ref.decode(), f"the server refused the update: {refusal}")
            )
        logger.info(
            "%s %s: update refused (%s): another writer moved the branch", self.url, ref.decode(), refusal
        )
        return tip

    def _landed_despite(
        self, error: GitTransientError, ref: bytes, base: ObjectID | None, new_commit: ObjectID
    ) -> bool:
        """Whether a push that failed with `error` landed after all, judged by re-reading the branch."""
        logger.warning("%s (outcome unknown); re-reading the branch to find out", error)
        try:
            return self._landed(ref, base, new_commit)
        except GitTransientError as check_error:
            raise GitTransientError(
                self._transport.describe(
                    "push to",
                    ref.decode(),
                    f"outcome unknown: {error}; re-reading the branch failed too: {check_error}",
                )
            ) from check_error

    def _landed(self, ref: bytes, base: ObjectID | None, new_commit: ObjectID) -> bool:
        tip = self._remote_tip(ref)
        if tip == new_commit:
            return True
        if tip is None or tip == base:
            return False
        # Others may have pushed on top of the commit already: look for it in the recent history of the tip.
        return new_commit.decode() in self._history(ref, _UNKNOWN_PUSH_SEARCH_DEPTH)

    def _commits_only_filter(self) -> bytes | None:
        """tree:0 where the server honours filters and has not refused that one (some allow blob:none only)."""
        return _COMMITS_ONLY if self._filters_honoured and _COMMITS_ONLY not in self._refused_filters else None

    def _history(self, ref: bytes, depth: int) -> History:
        """The last `depth` commits of branch `ref` (without their trees where the server allows); empty when
        there is no such branch."""
        repo, tips = self._fetch_advertised(
            ref.decode(),
            lambda refs: [refs[ref]] if ref in refs else [],
            depth=depth,
            filter_spec=self._commits_only_filter(),
            ref_prefix=[ref],
        )
        return History(repo, tips[0] if tips else None)

    def _remote_tip(self, ref: bytes) -> ObjectID | None:
        client, path = self._transport.client()
        with self._transport.errors("read", ref.decode()):
            return client.get_refs(path, ref_prefix=[ref]).refs.get(ref)


def _fetch_into_new_repository(
    client: GitClient,
    path: str,
    determine_wants: _DetermineWants,
    *,
    depth: int | None,
    filter_spec: bytes | None,
    ref_prefix: Sequence[bytes],
    in_memory_limit: int,
    byte_limit: int | None = None,
) -> tuple[MemoryRepo, FetchPackResult]:
    """Fetch into a new repository whose objects are in memory, or on disk if the pack is over the limit.

    dulwich's `fetch` would hand the pack to the store as a thin pack, inflating every object; a repository that
    starts empty announces no objects it has, so the server sends a self-contained pack, which `add_pack` takes
    as it is. With `byte_limit`, a pack growing past it is abandoned, the connection closed, and _PackOverLimit
    raised."""
    repo = MemoryRepo()
    repo.object_store = SpillingObjectStore(in_memory_limit)
    pack, commit, abort = repo.object_store.add_pack()
    write = pack.write if byte_limit is None else _limited(pack.write, byte_limit)
    try:
        result = client.fetch_pack(
            path,
            determine_wants,
            repo.get_graph_walker(),
            write,
            depth=depth,
            filter_spec=filter_spec,
            ref_prefix=list(ref_prefix),
        )
    except BaseException:
        abort()
        raise
    commit()
    repo.update_shallow(result.new_shallow, result.new_unshallow)
    return repo, result


class _PackOverLimit(Exception):
    """A fetched pack grew past the limit it was fetched with."""


def _limited(write: Callable[[bytes], int], byte_limit: int) -> Callable[[bytes], int]:
    written = 0

    def write_within_limit(data: bytes) -> int:
        nonlocal written
        written += len(data)
        if written > byte_limit:
            raise _PackOverLimit(f"the pack went over {byte_limit} bytes")
        return write(data)

    return write_within_limit


def _server_said(messages: Sequence[bytes]) -> str:
    """The server's messages on one line, as a reason may quote them: terminal escapes and control characters
    out, and no longer than _SERVER_MESSAGE_CHARACTERS."""
    text = _TERMINAL_ESCAPE.sub("", b"".join(messages).decode("utf-8", errors="replace"))
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) <= _SERVER_MESSAGE_CHARACTERS:
        return text
    return text[: _SERVER_MESSAGE_CHARACTERS - 1] + "…"


def _back_off(retry: int) -> None:
    """Sleep before the `retry`-th retry: full jitter over an exponentially growing, capped window."""
    time.sleep(random.uniform(0, min(_BACKOFF_CAP_SECONDS, _BACKOFF_FIRST_SECONDS * 2 ** (retry - 1))))


def _accepts_any_want(client: GitClient) -> bool:
    """Protocol v2 lets a client want any object by id; so does a local repository."""
    return isinstance(client, LocalGitClient) or client.protocol_version == 2


def _branch_and_tag_tips(refs: Mapping[bytes, ObjectID]) -> list[ObjectID]:
    return sorted(
        {sha for name, sha in refs.items() if name.startswith(_TIP_PREFIXES) and not name.endswith(b"^{}")}
    )


def _peel_to_commit(store: MemoryObjectStore, object_id: ObjectID, where: str) -> Commit:
    if object_id not in store:
        raise RefNotFound(f"{where}: the server did not send {object_id.decode()}")
    obj = store[object_id]
    while isinstance(obj, Tag):
        obj = store[obj.object[1]]
    if not isinstance(obj, Commit):
        raise RefNotFound(f"{where}: {object_id.decode()} is a {obj.type_name.decode()}, not a commit")
    return obj


def _parse_revision(revision: str) -> _Revision:
    if not isinstance(revision, str) or not revision.strip():
        raise ValueError(
            f"revision must be a branch name, HEAD, a refs/... name or a commit sha, got {revision!r}"
        )
    if _SHA.fullmatch(revision):
        return _Revision(sha=ObjectID(revision.lower().encode()))
    if revision == "HEAD":
        return _Revision(ref=b"HEAD")
    ref = revision if revision.startswith("refs/") else f"refs/heads/{revision}"
    if not check_ref_format(ref.encode()):
        raise ValueError(f"invalid revision {revision!r}: {ref!r} is not a valid Git ref name")
    return _Revision(ref=ref.encode())


def _branch_ref(branch: str) -> bytes:
    if not isinstance(branch, str) or not branch:
        raise ValueError(f"branch must be a non-empty branch name, got {branch!r}")
    if branch.startswith("refs/") and not branch.startswith("refs/heads/"):
        raise ValueError(f"cannot commit to {branch!r}: commits go to branches (refs/heads/...)")
    ref = branch if branch.startswith("refs/heads/") else f"refs/heads/{branch}"
    if not check_ref_format(ref.encode()):
        raise ValueError(f"invalid branch name {branch!r}")
    return ref.encode()


def _checked_prefixes(paths: Iterable[str]) -> list[str]:
    if isinstance(paths, str):
        raise TypeError(f"paths must be an iterable of paths, not a single string: {paths!r}")
    return [checked_prefix(path) for path in paths]


def _checked_edits(edits: object) -> dict[str, bytes | None]:
    if not isinstance(edits, Mapping):
        raise TypeError(
            f"make_edits must return a mapping of path to bytes or None, got {type(edits).__name__}"
        )
    checked: dict[str, bytes | None] = {}
    for path, content in edits.items():
        if content is not None and not isinstance(content, bytes):
            raise TypeError(
                f"edit of {path!r}: content must be bytes or None (delete), got {type(content).__name__}"
            )
        checked[checked_path(path)] = content
    return checked


def _tree_changes(
    snapshot: Snapshot, edits: dict[str, bytes | None], label: str
) -> tuple[list[tuple[bytes, int | None, ObjectID | None]], list[Blob]]:
    """The (path, mode, sha) changes `commit_tree_changes` takes, without the edits the tree already holds."""
    written = {path for path, content in edits.items() if content is not None}
    changes: list[tuple[bytes, int | None, ObjectID | None]] = []
    blobs: list[Blob] = []
    for path in sorted(edits):
        content = edits[path]
        entry = snapshot._entry(path)
        if entry is not None and stat.S_ISDIR(entry[0]):
            raise ValueError(
                f"cannot {'write' if content is not None else 'delete'} {path!r} on {label}: a directory"
            )
        if entry is not None and S_ISGITLINK(entry[0]):
            raise ValueError(
                f"cannot {'write' if content is not None else 'delete'} {path!r} on {label}: a submodule"
            )
        if content is None:
            if entry is not None:
                changes.append((path.encode(), None, None))
            continue
        for ancestor in _ancestors(path):
            ancestor_entry = snapshot._entry(ancestor)
            kept_non_directory = (
                ancestor_entry is not None
                and not stat.S_ISDIR(ancestor_entry[0])
                and edits.get(ancestor, b"") is not None
            )
            if ancestor in written or kept_non_directory:
                raise ValueError(f"cannot write {path!r} on {label}: {ancestor!r} is a file, not a directory")
        blob = Blob.from_string(content)
        if entry is not None and entry[1] == blob.id:
            continue
        mode = _EXECUTABLE_FILE if entry is not None and entry[0] == _EXECUTABLE_FILE else _REGULAR_FILE
        changes.append((path.encode(), mode, blob.id))
        blobs.append(blob)
    return changes, blobs


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:index]) for index in range(1, len(parts))]


def _build_commit(
    snapshot: Snapshot,
    changes: list[tuple[bytes, int | None, ObjectID | None]],
    blobs: list[Blob],
    message: str,
    author: Author,
    signer: CommitSigner | None,
) -> tuple[Commit, list[ShaFile]]:
    """The new commit and every object it adds: new blobs, the trees on the changed paths, the commit."""
    new_objects = MemoryObjectStore()
    for blob in blobs:
        new_objects.add_object(blob)
    tree_id = commit_tree_changes(
        OverlayObjectStore([new_objects, snapshot._store], add_store=new_objects), snapshot._tree_id, changes
    )
    commit = Commit()
    commit.tree = tree_id
    commit.parents = [ObjectID(snapshot.commit_sha.encode())]
    commit.author = commit.committer = author.identity
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = (message if message.endswith("\n") else f"{message}\n").encode()
    if signer is not None:
        # The signature covers the commit as serialized without it.
        commit.gpgsig = signer.sign(commit.as_raw_string())
    new_objects.add_object(commit)
    return commit, [new_objects[object_id] for object_id in new_objects]
