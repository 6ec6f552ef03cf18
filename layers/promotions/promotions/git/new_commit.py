"""The new commit a set of edits makes on a snapshot: the edits checked, reduced to what changes the tree, and
the blobs, trees and commit object built in memory, reusing every object of the snapshot the edits leave alone.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Mapping

from dulwich.object_store import MemoryObjectStore, OverlayObjectStore, commit_tree_changes
from dulwich.objects import S_ISGITLINK, Blob, Commit, ObjectID, ShaFile

from .models import Author
from .paths import checked_path
from .signing import CommitSigner
from .snapshot import Snapshot

# What `commit_tree_changes` takes: a path, and its new mode and object, or None and None to delete it.
TreeChange = tuple[bytes, int | None, ObjectID | None]

_REGULAR_FILE = 0o100644
_EXECUTABLE_FILE = 0o100755


def checked_edits(edits: object) -> dict[str, bytes | None]:
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


def tree_changes(
    snapshot: Snapshot, edits: dict[str, bytes | None], label: str
) -> tuple[list[TreeChange], list[Blob]]:
    """The (path, mode, sha) changes `commit_tree_changes` takes, without the edits the tree already holds."""
    written = {path for path, content in edits.items() if content is not None}
    changes: list[TreeChange] = []
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


def build_commit(
    snapshot: Snapshot,
    changes: list[TreeChange],
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
