"""How a GitRemote reaches its server: a fresh dulwich client per operation over one shared urllib3 pool, and
the translation of whatever dulwich, urllib3 or the OS raise into the engine's error types, with credentials
scrubbed.

Only smart HTTP(S) and local repositories are supported: every other dulwich transport (ssh, git://) runs a
subprocess or needs a daemon, and the Lambda runtime has neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import urllib3
from dulwich.client import (
    GitClient,
    LocalGitClient,
    Urllib3HttpGitClient,
    default_urllib3_manager,
    get_transport_and_path,
)
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository, SendPackError

from .errors import GitAuthError, GitError, GitTransientError, PushRejected, RepositoryNotFound
from .models import HttpCredentials

_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_CONNECT_TIMEOUT_SECONDS = 10.0
# Connections kept per host: remotes are shared by threads that each hold one during a call.
_CONNECTIONS_PER_HOST = 16


class _HttpStatusError(Exception):
    """An HTTP error status, raised by the pool so that it stays a number (dulwich would report text)."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


def _raise_for_status(response: Any, url: str) -> Any:
    if response.status >= 400:
        response.drain_conn()
        response.release_conn()
        raise _HttpStatusError(response.status, url)
    return response


class _StatusCheckingPoolManager(urllib3.PoolManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, maxsize=_CONNECTIONS_PER_HOST, **kwargs)

    def urlopen(self, method: str, url: str, redirect: bool = True, **kwargs: Any) -> Any:
        return _raise_for_status(super().urlopen(method, url, redirect=redirect, **kwargs), url)


class _StatusCheckingProxyManager(urllib3.ProxyManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, maxsize=_CONNECTIONS_PER_HOST, **kwargs)

    def urlopen(self, method: str, url: str, redirect: bool = True, **kwargs: Any) -> Any:
        return _raise_for_status(super().urlopen(method, url, redirect=redirect, **kwargs), url)


class Transport:
    """Connection settings of one remote. Thread-safe: dulwich clients keep per-call state, so each call gets
    its own client, while the urllib3 pool (thread-safe) is shared and keeps connections alive across calls.
    """

    def __init__(self, url: str, credentials: HttpCredentials | None, timeout: float) -> None:
        if not isinstance(url, str) or not url.strip():
            raise ValueError(f"GitRemote url must be a non-empty string, got {url!r}")
        if timeout <= 0:
            raise ValueError(f"GitRemote timeout must be positive, got {timeout!r}")
        parts = urlsplit(url.strip())
        self._pool: urllib3.PoolManager | None = None
        if parts.scheme in ("http", "https"):
            if credentials is None and parts.username is not None:
                credentials = HttpCredentials(unquote(parts.username), unquote(parts.password or ""))
            # Credentials travel only in the Authorization header, never in a URL dulwich or urllib3 prints.
            netloc = parts.hostname or ""
            if parts.port is not None:
                netloc = f"{netloc}:{parts.port}"
            self.location = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
            self._pool = default_urllib3_manager(
                None,
                pool_manager_cls=_StatusCheckingPoolManager,
                proxy_manager_cls=_StatusCheckingProxyManager,
                base_url=self.location,
                timeout=urllib3.Timeout(connect=min(timeout, _CONNECT_TIMEOUT_SECONDS), read=timeout),  # type: ignore[arg-type]
            )
        else:
            self.location = url.strip()
        self._credentials = credentials
        self._secrets = _secret_spellings(credentials)
        self.display_url = self.scrub(self.location)
        client, _path = self._new_client()
        if not isinstance(client, Urllib3HttpGitClient | LocalGitClient):
            raise ValueError(
                f"unsupported Git remote {self.display_url!r}: use an http(s) URL or a local repository path "
                "(ssh and git:// need programs the Lambda runtime does not have)"
            )

    def client(self) -> tuple[GitClient, str]:
        """A new dulwich client and the repository path to hand it."""
        return self._new_client()

    def _new_client(self) -> tuple[GitClient, str]:
        return get_transport_and_path(
            self.location,
            username=self._credentials.username if self._credentials else None,
            password=self._credentials.password if self._credentials else None,
            pool_manager=self._pool,
        )

    def scrub(self, text: str) -> str:
        """`text` with URL user-info and every spelling of the password masked."""
        text = _URL_USERINFO.sub("***@", text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def describe(self, action: str, ref: str | None, detail: str | None = None) -> str:
        """A one-line error message naming the repository and ref; `detail` is scrubbed."""
        where = f"{action} {self.display_url}" + (f" ({ref})" if ref else "")
        return f"{where}: {self.scrub(detail)}" if detail else where

    @contextmanager
    def errors(self, action: str, ref: str | None, *, refused: type[GitError] = GitError) -> Iterator[None]:
        """Translate failures in the block into GitError subclasses naming `action`, the repository and `ref`.

        `refused` is raised when the server answers with a protocol-level error (an ERR line, a refused want).
        """
        try:
            yield
        except GitError:
            raise
        except _HttpStatusError as exc:
            self._raise_for_http_status(exc, action, ref)
        except NotGitRepository as exc:
            raise RepositoryNotFound(self.describe(action, ref, f"no repository there ({exc})")) from exc
        except SendPackError as exc:
            raise PushRejected(
                self.describe(action, ref, f"the server could not unpack the push: {exc}")
            ) from exc
        except (OSError, HangupException, urllib3.exceptions.HTTPError) as exc:
            raise GitTransientError(self.describe(action, ref, _network_detail(exc))) from exc
        except GitProtocolError as exc:
            if _caused_by_network(exc):
                raise GitTransientError(self.describe(action, ref, _network_detail(exc))) from exc
            raise refused(self.describe(action, ref, f"the server refused: {exc}")) from exc

    def _raise_for_http_status(self, exc: _HttpStatusError, action: str, ref: str | None) -> NoReturn:
        status = exc.status
        if status in (401, 403, 407):
            hint = "credentials refused" if self._credentials else "the server requires credentials"
            raise GitAuthError(self.describe(action, ref, f"HTTP {status}: {hint}")) from None
        if status == 404:
            raise RepositoryNotFound(self.describe(action, ref, "HTTP 404: no such repository")) from None
        if status in (408, 429) or status >= 500:
            raise GitTransientError(self.describe(action, ref, f"HTTP {status} from the server")) from None
        raise GitError(self.describe(action, ref, f"HTTP {status}")) from None


def _secret_spellings(credentials: HttpCredentials | None) -> tuple[str, ...]:
    if credentials is None or not credentials.password:
        return ()
    password = credentials.password
    # Longest first, so a spelling containing another is masked whole.
    return tuple(sorted({password, quote(password, safe=""), quote(password)}, key=len, reverse=True))


def _caused_by_network(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | urllib3.exceptions.HTTPError | HangupException):
            return True
        current = current.__cause__ or current.__context__
    return False


def _network_detail(exc: BaseException) -> str:
    if isinstance(exc, HangupException):
        return "the server hung up"
    return f"network error: {type(exc).__name__}: {exc}"
