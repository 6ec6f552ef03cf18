"""One spelling for a Git repository, so a push's clone URL finds the Argo CD Applications that point at it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


def canonical_repo(url: str) -> str:
    """Return `host/owner/name` for remote URLs and the absolute path for local ones.

    https://github.com/Org/App.git, git@github.com:Org/App and ssh://git@github.com/Org/App/ all name the
    same repository; hosts compare case-insensitively, paths keep their case (GitLab paths are case-sensitive).
    """
    text = url.strip()
    if text.startswith("file://"):
        return _strip(text[len("file://"):]) or "/"
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


def _strip(path: str) -> str:
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return path
