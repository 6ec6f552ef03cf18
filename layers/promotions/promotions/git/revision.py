"""What a caller names to read or to commit to: a branch, HEAD, a full refs/... name or a commit sha, checked
and parsed into the ref and sha the fetch asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dulwich.objects import ObjectID
from dulwich.refs import Ref, check_ref_format

_SHA = re.compile(r"[0-9a-fA-F]{40}")


@dataclass(frozen=True)
class Revision:
    """A ref (branch, tag, HEAD) or a commit sha; or both: the commit, which the ref was seen to point at."""

    ref: bytes | None = None
    sha: ObjectID | None = None

    @property
    def label(self) -> str:
        return (self.ref or self.sha or b"").decode()


def parse_revision(revision: str) -> Revision:
    if not isinstance(revision, str) or not revision.strip():
        raise ValueError(
            f"revision must be a branch name, HEAD, a refs/... name or a commit sha, got {revision!r}"
        )
    if _SHA.fullmatch(revision):
        return Revision(sha=ObjectID(revision.lower().encode()))
    if revision == "HEAD":
        return Revision(ref=b"HEAD")
    ref = revision if revision.startswith("refs/") else f"refs/heads/{revision}"
    if not check_ref_format(Ref(ref.encode())):
        raise ValueError(f"invalid revision {revision!r}: {ref!r} is not a valid Git ref name")
    return Revision(ref=ref.encode())


def branch_ref(branch: str) -> bytes:
    if not isinstance(branch, str) or not branch:
        raise ValueError(f"branch must be a non-empty branch name, got {branch!r}")
    if branch.startswith("refs/") and not branch.startswith("refs/heads/"):
        raise ValueError(f"cannot commit to {branch!r}: commits go to branches (refs/heads/...)")
    ref = branch if branch.startswith("refs/heads/") else f"refs/heads/{branch}"
    if not check_ref_format(Ref(ref.encode())):
        raise ValueError(f"invalid branch name {branch!r}")
    return ref.encode()
