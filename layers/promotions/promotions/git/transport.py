"""How a GitRemote reaches its server: a fresh dulwich client per operation over one shared urllib3 pool, and
the translation of whatever dulwich, urllib3 or the OS raise into the engine's error types, with credentials
scrubbed.

Only smart HTTP(S) and local repositories are supported: every other dulwich transport (ssh, git://) runs a
subprocess or needs a daemon, and the Lambda runtime has neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import quote, unquote, urlparse, urlsplit, urlunsplit

import urllib3
from dulwich.client import (
    GitClient,
    LocalGitClient,
    Urllib3HttpGitClient,
    default_urllib3_manager,
    get_transport_and_path,
)
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository, SendPackError
from dulwich.objects import ObjectID
from dulwich.refs import Ref

from .errors import GitAuthError, GitError, GitTransientError, PushRejected, RefNotFound, RepositoryNotFound
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


@dataclass(frozen=True)
class _Advertisement:
    """The upload-pack capabilities a protocol v2 server advertised, and the repository URL it answered at
    (after any redirect)."""

    capabilities: frozenset[bytes]
    url: str


class _AdvertisementMemo:
    """The last upload-pack advertisement one remote's server sent, if it spoke protocol v2.

    Shared by the threads using the remote: replacing the frozen value is one atomic assignment.
    """

    def __init__(self) -> None:
        self.latest: _Advertisement | None = None


class _HttpGitClient(Urllib3HttpGitClient):
    """dulwich's urllib3 client, remembering what a protocol v2 server advertises for upload-pack.

    dulwich opens every fetch with a GET of the capability advertisement and, over protocol v2, an ls-refs
    POST. A fetch of objects by id needs neither: protocol v2 takes any object id as a want. So a client made
    with `reuse_advertisement` answers dulwich's discovery from the memo once it holds a v2 advertisement,
    and such a fetch is one POST: one round trip instead of three over a real network. Every other discovery
    goes to the server and refreshes the memo, so it is never older than the operation using it.
    """

    def remember_in(self, memo: _AdvertisementMemo, *, reuse_advertisement: bool) -> None:
        self._memo = memo
        self._reuse_advertisement = reuse_advertisement

    def _discover_references(
        self,
        service: bytes,
        base_url: str,
        protocol_version: int | None = None,
        ref_prefix: Sequence[bytes] | None = None,
    ) -> tuple[dict[Ref, ObjectID | None], set[bytes], str, dict[Ref, Ref], dict[Ref, ObjectID]]:
        if service != b"git-upload-pack":
            return super()._discover_references(service, base_url, protocol_version, ref_prefix)
        known = self._memo.latest
        if self._reuse_advertisement and known is not None:
            self.protocol_version = 2
            return {}, set(known.capabilities), known.url, {}, {}
        refs, capabilities, url, symrefs, peeled = super()._discover_references(
            service, base_url, protocol_version, ref_prefix
        )
        self._memo.latest = (
            _Advertisement(frozenset(capabilities), url) if self.protocol_version == 2 else None
        )
        return refs, capabilities, url, symrefs, peeled


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
        self._advertisements = _AdvertisementMemo()
        self._secrets = _secret_spellings(credentials)
        self.display_url = self.scrub(self.location)
        client, _path = self._new_client()
        if not isinstance(client, Urllib3HttpGitClient | LocalGitClient):
            raise ValueError(
                f"unsupported Git remote {self.display_url!r}: use an http(s) URL or a local repository path "
                "(ssh and git:// need programs the Lambda runtime does not have)"
            )

    def client(self, *, by_object_id: bool = False) -> tuple[GitClient, str]:
        """A new dulwich client and the repository path to hand it.

        `by_object_id`: the client will only fetch objects by id, without looking at refs; over HTTP, once an
        earlier fetch of this remote showed that the server speaks protocol v2, it skips the ref
        advertisement and fetches in one request.
        """
        return self._new_client(by_object_id=by_object_id)

    def _new_client(self, *, by_object_id: bool = False) -> tuple[GitClient, str]:
        username = self._credentials.username if self._credentials else None
        password = self._credentials.password if self._credentials else None
        if self._pool is None:
            return get_transport_and_path(self.location, username=username, password=password)
        parts = urlparse(self.location)
        client = _HttpGitClient.from_parsedurl(
            parts, username=username, password=password, pool_manager=self._pool
        )
        assert isinstance(client, _HttpGitClient)
        client.remember_in(self._advertisements, reuse_advertisement=by_object_id)
        return client, parts.path

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


def refused_by_server(error: GitError) -> bool:
    """Whether `error` may be the server refusing what was asked rather than failing, being unreachable or
    lacking the ref: an ERR line, an HTTP 4xx other than 401/403/404/407, or a hang-up, which is how `git
    http-backend` ends a request its configuration forbids (a filter it does not allow, a want it refuses)."""
    if isinstance(error, GitTransientError):
        return isinstance(error.__cause__, HangupException)
    return not isinstance(error, GitAuthError | RepositoryNotFound | RefNotFound)


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
