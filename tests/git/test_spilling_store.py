"""A fetch too big for memory stays on disk: servers without partial-clone filters send every file of a commit."""

from __future__ import annotations

import errno
import gc
import io
import os
import tracemalloc
from pathlib import Path

import pytest
from dulwich.object_format import DEFAULT_OBJECT_FORMAT
from dulwich.objects import Blob
from dulwich.pack import write_pack_objects

import promotions.git.spilling_store as spilling_store
from promotions.git import Author, GitError, GitRemote
from promotions.git.spilling_store import SpillingObjectStore
from promotions_local.git_server import GitHttpBackendServer, GuardedDulwichServer, create_bare_repository

from .conftest import HAS_GIT

KIB = 1024
TARGET = "apps/app/prod/values.yaml"


def pack_of(blobs: list[Blob]) -> bytes:
    buffer = io.BytesIO()
    write_pack_objects(buffer.write, [(blob, None) for blob in blobs], DEFAULT_OBJECT_FORMAT)
    return buffer.getvalue()


def received(store: SpillingObjectStore, pack: bytes, chunk: int = 1000) -> None:
    """Hand `pack` to the store in pieces, as a fetch writes what it receives."""
    writer, commit, _abort = store.add_pack()
    for start in range(0, len(pack), chunk):
        writer.write(pack[start : start + chunk])
    commit()


def test_a_pack_within_the_limit_is_held_in_memory():
    blobs = [Blob.from_string(f"file {number}\n".encode()) for number in range(5)]
    store = SpillingObjectStore(in_memory_limit=64 * KIB)

    received(store, pack_of(blobs))

    assert not store.on_disk
    assert all(store.contains_loose(blob.id) for blob in blobs)
    assert {blob.id for blob in blobs} <= set(store)
    assert store[blobs[3].id].as_raw_string() == b"file 3\n"


def test_a_pack_over_the_limit_is_read_from_disk_and_the_directory_goes_with_the_store(tmp_path, monkeypatch):
    monkeypatch.setattr(spilling_store.tempfile, "tempdir", str(tmp_path))
    blobs = [Blob.from_string(os.urandom(8 * KIB)) for _ in range(8)]
    store = SpillingObjectStore(in_memory_limit=16 * KIB)

    received(store, pack_of(blobs))
    store.add_object(Blob.from_string(b"added after the fetch\n"))

    assert store.on_disk
    assert all(blob.id in store for blob in blobs)
    assert store[blobs[5].id].as_raw_string() == blobs[5].as_raw_string()
    assert len(set(store)) == len(blobs) + 1
    assert not any(store.contains_loose(blob.id) for blob in blobs), "nothing fetched was inflated into memory"
    [directory] = tmp_path.iterdir()
    assert any(directory.rglob("pack-*.idx"))

    del store
    gc.collect()
    assert not any(tmp_path.iterdir())


def test_a_full_disk_is_named_not_taken_for_a_network_error(monkeypatch):
    store = SpillingObjectStore(in_memory_limit=0)

    class FullDisk(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(
        spilling_store.DiskObjectStore, "add_pack", lambda self: (FullDisk(), lambda: None, lambda: None)
    )
    writer, _commit, _abort = store.add_pack()
    with pytest.raises(GitError, match="do not fit in memory, and .* has no room left for them") as caught:
        writer.write(b"PACK")
    assert type(caught.value) is GitError


def big_repository(root: Path) -> dict[str, bytes]:
    """Forty files of 64 KiB that do not compress (2.5 MiB), and the small file a promotion edits."""
    files = {f"assets/blob-{number:02d}.bin": os.urandom(64 * KIB) for number in range(40)}
    files[TARGET] = b"image:\n  tag: 1.0.0\n"
    create_bare_repository(root / "big.git", files)
    return files


SERVERS_WITHOUT_FILTERS = {
    "guarded-dulwich": GuardedDulwichServer,
    "git-http-backend-without-filters": lambda root: GitHttpBackendServer(root, allow_filter=False),
}


def promote(url: str, in_memory_pack_limit: int, version: bytes) -> int:
    """Promote `version` into TARGET; the peak of Python allocations meanwhile (the server's included)."""
    remote = GitRemote(url, in_memory_pack_limit=in_memory_pack_limit)
    tracemalloc.start()
    try:
        outcome = remote.commit(
            "main",
            lambda tip: {TARGET: b"image:\n  tag: " + version + b"\n"},
            "Promote",
            Author("Promotions", "promotions@example.invalid"),
            prefetch=[TARGET],
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.commit_sha is not None
    return peak


@pytest.mark.parametrize("server_kind", list(SERVERS_WITHOUT_FILTERS))
def test_a_promotion_on_a_server_without_filters_keeps_the_whole_commit_on_disk(
    tmp_path, monkeypatch, server_kind
):
    if server_kind.startswith("git-http-backend") and not HAS_GIT:
        pytest.skip("git http-backend needs the git binary")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(spilling_store.tempfile, "tempdir", str(scratch))
    root = tmp_path / "repos"
    root.mkdir()
    files = big_repository(root)
    content = sum(map(len, files.values()))
    with SERVERS_WITHOUT_FILTERS[server_kind](root) as server:
        url = server.url_for("big.git")
        in_memory = promote(url, 64 * 2**20, b"2.0.0")
        spilled = promote(url, 256 * KIB, b"3.0.0")

        # The server runs in this process too, so both peaks hold what it buffered to send the pack.
        assert spilled < in_memory - content / 2, f"peaks: {spilled} spilled, {in_memory} in memory"
        tip = GitRemote(url, in_memory_pack_limit=256 * KIB).snapshot("main")
        assert tip.read(TARGET) == b"image:\n  tag: 3.0.0\n"
        assert tip.read("assets/blob-07.bin") == files["assets/blob-07.bin"]
        assert any(scratch.iterdir())
        tip.close()
    assert not any(scratch.iterdir()), "the commits' and the snapshot's temporary directories are removed"
