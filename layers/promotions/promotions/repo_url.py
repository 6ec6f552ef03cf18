"""One spelling for a Git repository, so a push's clone URL finds the Argo CD Applications that point at it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from promotions.http import redact

_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


def canonical_repo(url: str) -> str:
    """Return `host/owner/name` for remote URLs and the absolute path for local ones.

    https://github.com/Org/App.git, git@github.com:Org/App and ssh://git@github.com/Org/App/ all name the
    same repository; hosts compare case-insensitively, paths keep their case (GitLab paths are case-sensitive).
    """
    text = url.strip()
    if text.startswith("file://"):
        return _strip(text[len("file://") :]) or "/"
    if text.startswith("/"):
        return _strip(text) or "/"
    scp = _SCP_LIKE.match(text)
    if scp and "://" not in text:
        return f"{scp['host'].lower()}/{_strip(scp['path'])}"
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.port and parts.port not in (80, 443, 22):
        host = f"{host}:{parts.port}"
    return f"{host}/{_strip(parts.path)}"


class RepositoryUrlError(ValueError):
    """A repository URL the engine refuses; the message shows it without its user information."""


def refuse_userinfo(url: str) -> str:
    """`url`, unless it is an http(s) URL with user information (`USER[:PASSWORD]@HOST`).

    Credentials come from the Git credentials secret, matched on the host the URL names; a URL such as
    `https://git.example.com@evil.example/x.git` reads as one host and is another. (An ssh URL's `git@` is a
    user name, not a credential, and stays.)
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https") and "@" in parts.netloc:
        raise RepositoryUrlError(
            f"repository URL {redact(url.strip())} carries user information (USER[:PASSWORD]@ before the "
            "host): give Git credentials in the credentials secret, not in the URL"
        )
    return url


def path_segments(path: str) -> tuple[str, ...]:
    """A repository path's segments, without empty ones or a final .git: `/acme//app.git/` is (acme, app)."""
    return tuple(segment for segment in _strip(path).split("/") if segment)


def _strip(path: str) -> str:
    return path.strip("/").removesuffix(".git")
