"""A commit's tree held in memory: the files of one revision, fetched as sparingly as the server allows."""

from __future__ import annotations

import logging
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

from dulwich.object_store import MemoryObjectStore
from dulwich.objects import S_ISGITLINK, Blob, ObjectID, ShaFile, Tree

from .errors import GitError
from .paths import checked_path, checked_prefix

logger = logging.getLogger("promotions.git")

TreeEntry = tuple[int, ObjectID]
FetchObjects = Callable[[Sequence[ObjectID]], Iterable[ShaFile]]


class Snapshot:
    """The files of one commit. Trees are always in memory; blobs may be fetched on first `read`.

    After a partial clone (filter blob:none) only the blobs under the requested paths are fetched up front;
    reading any other file fetches its blob then, in one round trip, so `read` can raise GitTransientError.
    Thread-safe.
    """

    def __init__(
        self,
        *,
        commit_sha: str,
        tree_id: ObjectID,
        store: MemoryObjectStore,
        fetch_objects: FetchObjects,
        description: str,
    ) -> None:
        self._commit_sha = commit_sha
        self._tree_id = tree_id
        self._store = store
        self._fetch_objects = fetch_objects
        self._description = description
        self._lock = threading.Lock()

    @property
    def commit_sha(self) -> str:
        """The commit whose files these are."""
        return self._commit_sha

    def __repr__(self) -> str:
        return f"Snapshot({self._description} at {self.commit_sha})"

    def read(self, path: str) -> bytes | None:
        """The content of the file at `path`; None if absent, a directory or a submodule."""
        entry = self._entry(checked_path(path))
        if entry is None or not _is_blob_mode(entry[0]):
            return None
        self._ensure_blobs([entry[1]])
        blob = self._store[entry[1]]
        assert isinstance(blob, Blob)
        return blob.as_raw_string()

    def list_files(self, prefix: str = "") -> list[str]:
        """Paths of the files at or under `prefix` (recursive, `/`-separated, sorted); "" lists them all."""
        return sorted(path for path, _sha in self._blobs_under(checked_prefix(prefix)))

    def _entry(self, path: str) -> TreeEntry | None:
        """(mode, sha) of the tree entry at `path`, or None if no entry is there."""
        tree = self._tree(self._tree_id)
        *directories, name = path.encode().split(b"/")
        for directory in directories:
            if directory not in tree:
                return None
            mode, sha = tree[directory]
            if not stat.S_ISDIR(mode):
                return None
            tree = self._tree(sha)
        return tree[name] if name in tree else None

    def _blobs_under(self, prefix: str) -> Iterator[tuple[str, ObjectID]]:
        """(path, blob sha) of each file that is `prefix` or lies under it; `prefix` is already checked."""
        if prefix:
            entry = self._entry(prefix)
            if entry is None:
                return
            mode, sha = entry
            if _is_blob_mode(mode):
                yield prefix, sha
                return
            if not stat.S_ISDIR(mode):
                return
            yield from self._walk(sha, prefix + "/")
        else:
            yield from self._walk(self._tree_id, "")

    def _is_partial(self) -> bool:
        """Whether some blob of the tree is not in memory (the server honoured a blob:none filter)."""
        return any(sha not in self._store for _path, sha in self._blobs_under(""))

    def _prefetch(self, prefixes: Iterable[str]) -> int:
        """Fetch the blobs of the files under `prefixes` in one round trip; return how many files that is."""
        wanted = [sha for prefix in prefixes for _path, sha in self._blobs_under(prefix)]
        self._ensure_blobs(wanted)
        return len(wanted)

    def _ensure_blobs(self, blob_ids: Iterable[ObjectID]) -> None:
        """Fetch, in one round trip, those of `blob_ids` not yet in memory."""
        with self._lock:
            missing = sorted({sha for sha in blob_ids if sha not in self._store})
            if not missing:
                return
            logger.debug("%r: fetching %d blob(s) on demand", self, len(missing))
            self._store.add_objects([(obj, None) for obj in self._fetch_objects(missing)])
            still_missing = [sha for sha in missing if sha not in self._store]
        if still_missing:
            raise GitError(
                f"{self._description}: the server did not send blob(s) "
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
        tree = self._store[tree_id]
        if not isinstance(tree, Tree):
            raise GitError(
                f"{self._description}: object {tree_id.decode()} is a {tree.type_name.decode()}, not a tree"
            )
        return tree


def _is_blob_mode(mode: int) -> bool:
    return not S_ISGITLINK(mode) and not stat.S_ISDIR(mode)
