"""An object store that holds what a fetch brings in memory, unless it would not fit there.

A fetch from a server without partial-clone filters (Bitbucket Cloud, dulwich's own server, protocol v0 hosts)
brings every file of the commit. Inflated into Python objects, a large repository's files would exhaust a
Lambda's memory, so a pack bigger than the store's limit is kept on disk as git keeps it: the pack as received,
with an index, in a temporary directory that goes with the store; its objects are read from there when asked
for. Smaller packs, which are what a promotion fetches from hosts that filter, stay in memory.
"""

from __future__ import annotations

import errno
import itertools
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

from dulwich.object_store import DiskObjectStore, MemoryObjectStore
from dulwich.objects import ObjectID, RawObjectID, ShaFile

from .errors import GitError

# dulwich's own bound for keeping an incoming pack in memory (PACK_SPOOL_FILE_MAX_SIZE). Inflated, a pack of
# YAML and JSON takes several times its size, so this keeps a fetch's objects to a fraction of a Lambda's memory.
IN_MEMORY_PACK_LIMIT = 16 * 1024 * 1024


class SpillingObjectStore(MemoryObjectStore):
    """A MemoryObjectStore whose `add_pack` keeps a pack bigger than `in_memory_limit` bytes on disk.

    Thread-safe for reads, as a MemoryObjectStore is: a pack on disk is read with seeks on one file, so one
    thread at a time."""

    def __init__(self, in_memory_limit: int = IN_MEMORY_PACK_LIMIT) -> None:
        super().__init__()
        self._in_memory_limit = in_memory_limit
        # Removed when the store is collected (TemporaryDirectory's finalizer).
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._disk: DiskObjectStore | None = None
        self._disk_lock = threading.Lock()

    @property
    def on_disk(self) -> bool:
        """Whether some objects are held on disk rather than in memory."""
        return self._disk is not None

    def add_pack(self) -> tuple[BinaryIO, Callable[[], None], Callable[[], None]]:
        writer = _PackWriter(self, self._in_memory_limit)
        return cast(BinaryIO, writer), writer.commit, writer.abort

    def add_object(self, obj: ShaFile) -> None:
        """Keep `obj` itself: MemoryObjectStore copies it, which costs a parse; callers hand over objects they
        no longer modify (fresh from a pack, or shared read-only with RecentObjects)."""
        self._data[obj.id] = obj

    def view(self, sha: ObjectID) -> ShaFile:
        """The object itself rather than the copy `store[sha]` gives, for reading only."""
        found = self._data.get(sha)
        return found if found is not None else self[sha]

    def contains_packed(self, sha: ObjectID | RawObjectID) -> bool:
        if self._disk is None:
            return False
        with self._disk_lock:
            return self._disk.contains_packed(sha)

    def __contains__(self, sha: ObjectID) -> bool:
        return self.contains_loose(sha) or self.contains_packed(sha)

    def __iter__(self) -> Iterator[ObjectID]:
        return itertools.chain(super().__iter__(), self._disk or ())

    def __getitem__(self, name: ObjectID | RawObjectID) -> ShaFile:
        try:
            return super().__getitem__(name)
        except KeyError:
            if self._disk is None:
                raise
            with self._disk_lock:
                return self._disk[name]

    def close(self) -> None:
        """Remove what is held on disk now rather than when the store is collected; those objects are gone."""
        with self._disk_lock:
            if self._disk is not None:
                self._disk.close()
                self._disk = None
            if self._directory is not None:
                self._directory.cleanup()
                self._directory = None
        super().close()

    def _disk_store(self) -> DiskObjectStore:
        if self._disk is None:
            self._directory = tempfile.TemporaryDirectory(prefix="promotions-objects-")
            self._disk = DiskObjectStore.init(self._directory.name)
        return self._disk


class _PackWriter:
    """Where a fetch writes the pack it receives: the memory store's spool up to the limit, then a pack file of
    the disk store."""

    def __init__(self, store: SpillingObjectStore, in_memory_limit: int) -> None:
        self._store = store
        self._in_memory_limit = in_memory_limit
        self._written = 0
        self._on_disk = False
        self._file: BinaryIO
        self._finish: Callable[[], object]
        self._discard: Callable[[], None]
        self._file, self._finish, self._discard = MemoryObjectStore.add_pack(store)

    def write(self, data: bytes) -> int:
        self._written += len(data)
        try:
            if not self._on_disk and self._written > self._in_memory_limit:
                self._move_to_disk()
            self._file.write(data)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            raise GitError(
                f"the fetched objects ({self._written // 2**20} MiB so far) do not fit in memory, and "
                f"{tempfile.gettempdir()} has no room left for them: give the function more ephemeral storage"
            ) from error
        return len(data)

    def _move_to_disk(self) -> None:
        spool, discard_spool = self._file, self._discard
        self._file, self._finish, self._discard = self._store._disk_store().add_pack()
        self._on_disk = True
        spool.seek(0)
        shutil.copyfileobj(spool, self._file)
        discard_spool()

    def commit(self) -> None:
        # On disk, the pack is indexed where it lies: not copied, and its objects not inflated until read.
        self._finish()

    def abort(self) -> None:
        self._discard()
