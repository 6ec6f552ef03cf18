"""Repository paths as the engine accepts them: one spelling, so `a/b.yaml` and `./a//b.yaml` cannot both
exist."""

from __future__ import annotations


def checked_path(path: str) -> str:
    """Return `path` if it names a file in a Git tree: relative, `/`-separated, no empty, `.`, `..` or `.git`
    parts.

    Raises ValueError naming the path and what is wrong with it.
    """
    if not isinstance(path, str):
        raise TypeError(f"a repository path must be a str, got {type(path).__name__}: {path!r}")
    if not path:
        raise ValueError("invalid repository path '': it is empty")
    if path.startswith("/"):
        raise ValueError(f"invalid repository path {path!r}: it must be relative to the repository root")
    if "\0" in path:
        raise ValueError(f"invalid repository path {path!r}: it contains a NUL character")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(
                f"invalid repository path {path!r}: empty, '.' and '..' components are not allowed"
            )
        if part.lower() == ".git":
            raise ValueError(f"invalid repository path {path!r}: Git refuses '.git' components in trees")
    return path


def checked_prefix(prefix: str) -> str:
    """Return a directory-or-file prefix without its trailing `/`; the empty prefix means the whole tree."""
    if not isinstance(prefix, str):
        raise TypeError(f"a repository path prefix must be a str, got {type(prefix).__name__}: {prefix!r}")
    stripped = prefix.rstrip("/")
    return checked_path(stripped) if stripped else ""
