"""Reading a remote: its refs, a revision's snapshot, a branch's recent history, and objects by id, at depth 1
and, where the server honours partial-clone filters, without the trees and files nobody reads. What the remote
has shown of the filters it takes is remembered for the next fetch.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence

from dulwich.client import FetchPackResult, GitClient, LocalGitClient
from dulwich.errors import HangupException
from dulwich.object_store import MemoryObjectStore
from dulwich.objects import Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.refs import Ref
from dulwich.repo import MemoryRepo

from .backoff import back_off
from .errors import GitError, GitTransientError, RefNotFound
from .history import History
from .recent import RecentObjects
from .revision import Revision
from .snapshot import Reach, Snapshot
from .spilling_store import SpillingObjectStore
from .transport import Transport, refused_by_server

logger = logging.getLogger("promotions.git")

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
_TREELESS_FILTERS: tuple[bytes | None, ...] = (_ROOT_TREE_ONLY, _COMMITS_ONLY, _BLOBLESS, None)
# For paths in subdirectories, the top-level directories come with the commit too: a GitOps repository has a
# few (apps/, clusters/, ...) and small files at its root, which cost less than the round trip fetching the
# directory on the path.
_TREELESS_FILTERS_FOR_SUBDIRECTORIES: tuple[bytes | None, ...] = (_TOP_LEVEL_TREES, *_TREELESS_FILTERS)
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
# Fetches repeated when a protocol v0 server refused a tip because its ref moved since it was advertised.
_MOVED_TIP_RETRIES = 8
_TIP_PREFIXES = (b"refs/heads/", b"refs/tags/")


class _WantNotAdvertised(Exception):
    """The server speaks protocol v0 and the commit is no ref tip: asking for it would be refused."""


class Fetcher:
    """How one remote is read, and what it has shown of the partial-clone filters it takes. Thread-safe: the
    state below is replaced whole, and a race between threads only costs a fetch a filter tried again."""

    def __init__(self, transport: Transport, in_memory_pack_limit: int) -> None:
        self._transport = transport
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

    def snapshot(
        self, revision: Revision, eager: list[str] | None, *, eager_directories: bool = False
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
            description=f"{self._transport.display_url} {revision.label}"
            if revision.ref
            else self._transport.display_url,
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

    def history(self, ref: bytes, depth: int) -> History:
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

    def tip(self, ref: bytes) -> ObjectID | None:
        """Where branch `ref` points now; None when there is no such branch."""
        client, path = self._transport.client()
        with self._transport.errors("read", ref.decode()):
            return client.get_refs(path.encode(), ref_prefix=[ref]).refs.get(Ref(ref))

    def _fetch_filtered(
        self, revision: Revision, filters: Sequence[bytes | None]
    ) -> tuple[_FetchedRepo, ObjectID, bytes | None]:
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
                        self._transport.display_url,
                        filter_spec.decode(),
                        error,
                    )
                    continue
                fallback = remaining[1] if len(remaining) > 1 else None
                logger.warning(
                    "%s: filter %s refused (%s); fetching with %s instead",
                    self._transport.display_url,
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
    ) -> tuple[_FetchedRepo, list[ObjectID]]:
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
                    self._transport.display_url,
                    label,
                    error,
                )
                back_off(attempt)
        raise AssertionError("itertools.count never ends")

    def _fetch_ref(self, ref: bytes, filter_spec: bytes | None) -> tuple[_FetchedRepo, ObjectID]:
        def tip_of_ref(refs: Mapping[bytes, ObjectID]) -> list[ObjectID]:
            if ref not in refs:
                raise RefNotFound(self._transport.describe("fetch", ref.decode(), "no such ref"))
            return [refs[ref]]

        repo, [tip] = self._fetch_advertised(
            ref.decode(), tip_of_ref, depth=1, filter_spec=filter_spec, ref_prefix=[ref]
        )
        return repo, tip

    def _fetch_commit(self, sha: ObjectID, filter_spec: bytes | None) -> _FetchedRepo:
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

    def _fetch_by_deepening(self, sha: ObjectID) -> _FetchedRepo:
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
                self._transport.display_url,
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

    def _advertised(self, ref_prefix: Sequence[bytes]) -> set[ObjectID]:
        client, path = self._transport.client()
        with self._transport.errors("read refs of", None):
            refs = client.get_refs(path.encode(), ref_prefix=list(ref_prefix)).refs
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
            if found is not None and (reach in (Reach.NOTHING, Reach.ENTRIES) or not isinstance(found, Tree))
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
                self._transport.display_url,
                _SUBTREE_BYTES_PER_DIRECTORY // 1024,
            )
            return None
        except GitError as error:
            if not refused_by_server(error):
                raise
            logger.info(
                "%s: filter %s refused (%s); fetching a directory level per round trip",
                self._transport.display_url,
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

    def _commits_only_filter(self) -> bytes | None:
        """tree:0 where the server honours filters and has not refused that one (some allow blob:none only)."""
        return (
            _COMMITS_ONLY if self._filters_honoured and _COMMITS_ONLY not in self._refused_filters else None
        )


class _FetchedRepo(MemoryRepo):
    """A fetch's repository: its objects are in a SpillingObjectStore (set by _fetch_into_new_repository)."""

    object_store: SpillingObjectStore


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
) -> tuple[_FetchedRepo, FetchPackResult]:
    """Fetch into a new repository whose objects are in memory, or on disk if the pack is over the limit.

    dulwich's `fetch` would hand the pack to the store as a thin pack, inflating every object; a repository that
    starts empty announces no objects it has, so the server sends a self-contained pack, which `add_pack` takes
    as it is. With `byte_limit`, a pack growing past it is abandoned, the connection closed, and _PackOverLimit
    raised."""
    repo = _FetchedRepo()
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
