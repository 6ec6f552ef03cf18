"""A commit's tree held in memory: the files of one revision, fetched as sparingly as the server allows."""

from __future__ import annotations

import enum
import logging
import stat
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import NamedTuple

from dulwich.objects import S_ISGITLINK, Blob, ObjectID, ShaFile, Tree

from .errors import GitError
from .paths import checked_path, checked_prefix
from .spilling_store import SpillingObjectStore

logger = logging.getLogger("promotions.git")

TreeEntry = tuple[int, ObjectID]


class Reach(enum.Enum):
    """What a fetch of objects by id brings besides the objects asked for."""

    NOTHING = enum.auto()
    """A tree comes without the trees and blobs it names."""
    ENTRIES = enum.auto()
    """A tree comes with the trees and blobs it names, but not what those trees name; where the server allows
    no more than NOTHING, or the tree is at hand, its blobs come when read."""
    TREES = enum.auto()
    """Every tree under a tree asked for, no blob."""
    EVERYTHING = enum.auto()
    """Every tree and blob under a tree asked for."""


FetchObjects = Callable[[Sequence[ObjectID], Reach], Iterable[ShaFile]]
# Trees by id with every tree and file down to a number of directory levels below them, or None where the remote
# declines (see Fetcher._fetch_subtrees).
FetchSubtrees = Callable[[Sequence[ObjectID], int], Iterable[ShaFile] | None]

# A directory is fetched whole down to the files on a path (one round trip instead of one per level) only when its
# parent lists at least this many directories: one of many siblings, as an application among applications, holds
# little; one of a few, as an environment or a cluster, may hold every application.
MANY_SIBLINGS = 8


class Snapshot:
    """The files of one commit, with the objects the server sent; the others are fetched on first use.

    After a full fetch every object is at hand: in memory, or on disk for a commit too big for memory. After a
    blobless partial clone (filter blob:none) every tree is, and only the blobs under the requested paths.
    After a treeless one (filter tree:0 or tree:1) only the trees on the requested paths are, fetched one
    directory level per round trip (or, for a directory among many siblings, whole down to the files on the
    path), and their blobs. Reading or listing anything else fetches what it needs then, so `read` and
    `list_files` can raise GitTransientError. Thread-safe.
    """

    def __init__(
        self,
        *,
        commit_sha: str,
        tree_id: ObjectID,
        store: SpillingObjectStore,
        fetch_objects: FetchObjects,
        fetch_subtrees: FetchSubtrees,
        description: str,
    ) -> None:
        self._commit_sha = commit_sha
        self._tree_id = tree_id
        self._store = store
        self._fetch_objects = fetch_objects
        self._fetch_subtrees = fetch_subtrees
        self._description = description
        self._lock = threading.Lock()
        self._directories_fetched_whole = 0

    @property
    def commit_sha(self) -> str:
        """The commit whose files these are."""
        return self._commit_sha

    def __repr__(self) -> str:
        return f"Snapshot({self._description} at {self.commit_sha})"

    @property
    def directories_fetched_whole(self) -> int:
        """How many directories came whole down to the files asked for, in one request instead of one per
        level, for being one of many siblings."""
        return self._directories_fetched_whole

    def close(self) -> None:
        """Remove now what the snapshot keeps on disk (a whole commit too big for memory), which would otherwise
        go when the snapshot is collected; what was there cannot be read afterwards."""
        self._store.close()

    def read(self, path: str) -> bytes | None:
        """The content of the file at `path`; None if absent, a directory or a submodule."""
        entry = self._entry(checked_path(path))
        if entry is None or not _is_blob_mode(entry[0]):
            return None
        self._ensure_objects([entry[1]], Reach.EVERYTHING)
        blob = self._store.view(entry[1])
        assert isinstance(blob, Blob)
        return blob.as_raw_string()

    def list_files(self, prefix: str = "") -> list[str]:
        """Paths of the files at or under `prefix` (recursive, `/`-separated, sorted); "" lists them all."""
        return sorted(path for path, _sha in self._blobs_under(checked_prefix(prefix)))

    def _entry(self, path: str) -> TreeEntry | None:
        """(mode, sha) of the tree entry at `path`, or None if no entry is there; "" is the root tree."""
        return self._entries([path])[path]

    def _entries(
        self, paths: Collection[str], *, with_files: bool = False, directories: bool = False
    ) -> dict[str, TreeEntry | None]:
        """The `_entry` of each of `paths`, walked side by side: the trees missing at one depth of all the
        paths are fetched together, so resolving them costs a round trip per directory level at most.

        `with_files`: the paths will be read, so the directories holding them come with their files, one round
        trip less than fetching the files after them; what that costs is the other files of those directories.
        Where the directories still to walk are among many siblings, everything under them down to those files
        comes in one round trip (`MANY_SIBLINGS`), unless the remote declines; with `directories`, down to the
        files in the paths themselves, which are then mostly directories to read whole.
        """
        found: dict[str, TreeEntry | None] = {}
        walking: dict[str, _Walk] = {}
        for path in paths:
            if path:
                walking[path] = _Walk(self._tree_id, path.encode().split(b"/"), fan_out=0)
            else:
                found[path] = (stat.S_IFDIR, self._tree_id)
        while walking:
            if with_files:
                self._fetch_down_to_files(walking.values(), below=1 if directories else 0)
            holding_files = with_files and all(len(walk.names) == 1 for walk in walking.values())
            self._ensure_objects(
                {walk.tree_id for walk in walking.values()}, Reach.ENTRIES if holding_files else Reach.NOTHING
            )
            deeper: dict[str, _Walk] = {}
            for path, (tree_id, (name, *rest), _fan_out) in walking.items():
                tree = self._tree(tree_id)
                if name not in tree:
                    found[path] = None
                    continue
                mode, entry_id = tree[name]
                if rest and stat.S_ISDIR(mode):
                    fan_out = (
                        sum(1 for item in tree.iteritems() if stat.S_ISDIR(item.mode)) if with_files else 0
                    )
                    deeper[path] = _Walk(entry_id, rest, fan_out)
                else:
                    found[path] = None if rest else (mode, entry_id)
            walking = deeper
        return found

    def _fetch_down_to_files(self, walks: Collection[_Walk], *, below: int) -> None:
        """Fetch the missing trees of `walks` with everything under them down to the files at the walks' ends
        (and `below` levels further), in one round trip, where each is one of many siblings and two levels or
        more are to come."""
        missing = {walk.tree_id for walk in walks if walk.tree_id not in self._store}
        levels = {len(walk.names) + below for walk in walks}
        if not missing or len(levels) != 1 or min(levels) < 2:
            return
        if any(walk.fan_out < MANY_SIBLINGS for walk in walks if walk.tree_id in missing):
            return
        with self._lock:
            fetched = self._fetch_subtrees(sorted(missing), levels.pop())
            if fetched is not None:
                self._store.add_objects([(obj, None) for obj in fetched])
                self._directories_fetched_whole += len(missing)

    def _blobs_under(self, prefix: str) -> Iterator[tuple[str, ObjectID]]:
        """(path, blob sha) of each file that is `prefix` or lies under it; `prefix` is already checked."""
        entry = self._entry(prefix)
        if entry is None:
            return
        mode, sha = entry
        if _is_blob_mode(mode):
            yield prefix, sha
        elif stat.S_ISDIR(mode):
            self._ensure_whole_tree(sha)
            yield from self._walk(sha, f"{prefix}/" if prefix else "")

    def _holds_every_object(self) -> bool | None:
        """Whether every tree and blob of the commit is in memory, judged without fetching anything; None if
        its tree is empty. After a filtered fetch, True means the server ignored the filter."""
        if self._tree_id in self._store and not len(self._stored_tree(self._tree_id)):
            return None
        return next(self._missing_under(self._tree_id, include_blobs=True), None) is None

    def _prefetch(self, prefixes: Collection[str], *, directories: bool = False) -> int:
        """Fetch the trees on the paths to `prefixes` and every file under them, in a round trip per directory
        level and one more; return how many files that is. `directories`: the prefixes are mostly directories
        (an application's), so a directory fetched whole above them comes with their files too; for files,
        that would bring the listings and files of their sibling directories for nothing."""
        wanted: list[ObjectID] = []
        for entry in self._entries(prefixes, with_files=True, directories=directories).values():
            if entry is None:
                continue
            mode, sha = entry
            if _is_blob_mode(mode):
                wanted.append(sha)
            elif stat.S_ISDIR(mode):
                wanted.extend(self._missing_under(sha, include_blobs=True))
        self._ensure_objects(wanted, Reach.EVERYTHING)
        return sum(1 for prefix in prefixes for _file in self._blobs_under(prefix))

    def _ensure_whole_tree(self, tree_id: ObjectID) -> None:
        """Fetch, in one round trip, the trees under `tree_id` that are not in memory."""
        self._ensure_objects(list(self._missing_under(tree_id, include_blobs=False)), Reach.TREES)

    def _missing_under(self, tree_id: ObjectID, *, include_blobs: bool) -> Iterator[ObjectID]:
        """The trees (and blobs, with `include_blobs`) under `tree_id`, itself included, that are not in
        memory, without those under a missing tree; nothing is fetched."""
        if tree_id not in self._store:
            yield tree_id
            return
        for item in self._stored_tree(tree_id).iteritems():
            if stat.S_ISDIR(item.mode):
                yield from self._missing_under(item.sha, include_blobs=include_blobs)
            elif include_blobs and _is_blob_mode(item.mode) and item.sha not in self._store:
                yield item.sha

    def _ensure_objects(self, object_ids: Iterable[ObjectID], reach: Reach) -> None:
        """Fetch, in one round trip, those of `object_ids` not yet in memory."""
        with self._lock:
            missing = sorted({sha for sha in object_ids if sha not in self._store})
            if not missing:
                return
            logger.debug("%r: fetching %d object(s) on demand", self, len(missing))
            self._store.add_objects([(obj, None) for obj in self._fetch_objects(missing, reach)])
            still_missing = [sha for sha in missing if sha not in self._store]
        if still_missing:
            raise GitError(
                f"{self._description}: the server did not send object(s) "
                + ", ".join(sha.decode() for sha in still_missing)
            )

    def _walk(self, tree_id: ObjectID, prefix: str) -> Iterator[tuple[str, ObjectID]]:
        for item in self._tree(tree_id).iteritems():
            path = prefix + item.path.decode()
            if stat.S_ISDIR(item.mode):
                yield from self._walk(item.sha, path + "/")
            elif _is_blob_mode(item.mode):
                yield path, item.sha

    def _tree(self, tree_id: ObjectID) -> Tree:
        """The tree `tree_id`, fetched alone if it is not in memory."""
        self._ensure_objects([tree_id], Reach.NOTHING)
        return self._stored_tree(tree_id)

    def _stored_tree(self, tree_id: ObjectID) -> Tree:
        tree = self._store.view(tree_id)
        if not isinstance(tree, Tree):
            raise GitError(
                f"{self._description}: object {tree_id.decode()} is a {tree.type_name.decode()}, not a tree"
            )
        return tree


class _Walk(NamedTuple):
    """A path being resolved: the tree reached, the names still to look up under it, and how many directories
    the tree's parent lists, itself included (0 for the root, or when not counted)."""

    tree_id: ObjectID
    names: list[bytes]
    fan_out: int


def _is_blob_mode(mode: int) -> bool:
    return not S_ISGITLINK(mode) and not stat.S_ISDIR(mode)
