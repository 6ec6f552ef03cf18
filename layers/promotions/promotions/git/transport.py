"""How a GitRemote reaches its server: a fresh dulwich client per operation over one shared urllib3 pool, and
the translation of whatever dulwich, urllib3 or the OS raise into the engine's error types, with credentials
scrubbed.

Only smart HTTP(S) and local repositories are supported: every other dulwich transport (ssh, git://) runs a
subprocess or needs a daemon, and the Lambda runtime has neither.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import quote, unquote, urlparse, urlsplit, urlunsplit

import urllib3
from dulwich.client import (
    GitClient,
    LocalGitClient,
    Urllib3HttpGitClient,
    build_ls_refs_request_v2,
    default_urllib3_manager,
    extract_object_format_from_capabilities,
    get_transport_and_path,
    read_pkt_refs_v2,
)
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository, SendPackError
from dulwich.objects import ObjectID
from dulwich.protocol import CAPABILITY_NO_PROGRESS, Protocol, pkt_line
from dulwich.refs import Ref

from promotions.http import origin, redact

from .errors import GitAuthError, GitError, GitTransientError, PushRejected, RefNotFound, RepositoryNotFound
from .models import HttpCredentials

logger = logging.getLogger("promotions.git")

# The dulwich release whose private methods _HttpGitClient overrides and calls (_discover_references,
# _smart_request, _fetch_capabilities, the protocol v2 request builders): pinned in pyproject.toml, and
# tests/git/test_dulwich_overrides_canary.py checks each of them against the installed dulwich.
DULWICH_VERSION = "1.2.21"

_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_CONNECT_TIMEOUT_SECONDS = 10.0
# Connections kept per host: remotes are shared by threads that each hold one during a call.
_CONNECTIONS_PER_HOST = 16
# urllib3's default retries (3 in all), for every method.
_READ_ONLY_POST_RETRIES = urllib3.Retry(total=3, allowed_methods=None)


class _HttpStatusError(Exception):
    """An HTTP error status, raised by the pool so that it stays a number (dulwich would report text)."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        # The URL that answered: after a redirect, not the one asked.
        self.url = url


def _raise_for_status(response: Any, url: str) -> Any:
    if response.status >= 400:
        response.drain_conn()
        response.release_conn()
        raise _HttpStatusError(response.status, url)
    return response


def _with_read_only_retries(method: str, url: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """urllib3 retries a request whose connection failed only for idempotent methods. Every upload-pack POST
    only reads (refs, objects), so it is retried as a GET would be: a busy host may reset a new connection.
    A receive-pack POST is not: whether a push that failed midway landed is for GitRemote to find out."""
    if method == "POST" and url.endswith("/git-upload-pack") and "retries" not in kwargs:
        return {**kwargs, "retries": _READ_ONLY_POST_RETRIES}
    return kwargs


class _StatusCheckingPoolManager(urllib3.PoolManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, maxsize=_CONNECTIONS_PER_HOST, **kwargs)

    # The signature of urllib3's own PoolManager.urlopen, which urllib3 declares with the same ignore.
    def urlopen(self, method: str, url: str, redirect: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs = _with_read_only_retries(method, url, kwargs)
        return _raise_for_status(super().urlopen(method, url, redirect=redirect, **kwargs), url)


class _StatusCheckingProxyManager(urllib3.ProxyManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, maxsize=_CONNECTIONS_PER_HOST, **kwargs)

    # The signature of urllib3's own PoolManager.urlopen, which urllib3 declares with the same ignore.
    def urlopen(self, method: str, url: str, redirect: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs = _with_read_only_retries(method, url, kwargs)
        return _raise_for_status(super().urlopen(method, url, redirect=redirect, **kwargs), url)


# What a server is presumed to offer for upload-pack before it has said: protocol v2 with ls-refs, and fetch
# with shallow and filter, as git has since 2.19 with partial clone on (GitHub, GitLab, `git http-backend` with
# uploadpack.allowFilter). Nothing more is presumed (object-format, unborn), so an older server is never sent
# an argument it would stop at.
_PRESUMED_UPLOAD_PACK = frozenset({b"ls-refs", b"fetch=shallow filter"})
# What every smart receive-pack has offered for over a decade: git since 1.7, dulwich, GitHub, GitLab, Bitbucket.
_PRESUMED_RECEIVE_PACK = frozenset({b"report-status", b"side-band-64k", b"delete-refs", b"ofs-delta"})

# A protocol v2 request: the command's packet, its capabilities, a delimiter packet, then its arguments.
_FETCH_COMMAND = pkt_line(b"command=fetch\n")
_NO_PROGRESS_ARGUMENT = pkt_line(b"no-progress\n")


@dataclass(frozen=True)
class _Advertisement:
    """The upload-pack capabilities of a protocol v2 server, and the repository URL it answered at (after any
    redirect); `presumed` until the server has advertised them itself."""

    capabilities: frozenset[bytes]
    url: str
    presumed: bool


class _AdvertisementMemo:
    """What one remote's clients know of its server's upload-pack, shared by the threads using the remote:
    each field is replaced in one atomic assignment."""

    def __init__(self) -> None:
        self.latest: _Advertisement | None = None
        # Off once the server answered a request made on presumed capabilities as a protocol v0 server would.
        self.presume_v2 = True
        # Off once the server refused a push not preceded by its ref advertisement.
        self.push_without_advertisement = True

    def current(self, base_url: str) -> _Advertisement | None:
        """The capabilities to go by: advertised, else presumed while presuming is on; None: ask the server."""
        if self.latest is None and self.presume_v2:
            return _Advertisement(_PRESUMED_UPLOAD_PACK, base_url, presumed=True)
        return self.latest

    def distrust_presumption(self) -> bool:
        """Stop presuming, if the capabilities in use were presumed; whether they were."""
        latest = self.latest
        if not self.presume_v2 or (latest is not None and not latest.presumed):
            return False
        self.presume_v2 = False
        self.latest = None
        return True


class _HttpGitClient(Urllib3HttpGitClient):
    """dulwich's urllib3 client without most of the round trips dulwich spends on discovery.

    dulwich opens every fetch with a GET of the capability advertisement and, over protocol v2, an ls-refs
    POST, and every push with a GET of the ref advertisement. Over a real network each costs a round trip,
    and a promotion makes a dozen such calls. So:

    - upload-pack capabilities are presumed to be protocol v2's (`_PRESUMED_UPLOAD_PACK`) until the server
      shows otherwise, then remembered from its own advertisement: listing refs is one ls-refs POST, and a
      fetch of objects by id (`reuse_advertisement`), which needs no refs, one fetch POST. A server that
      answers the presumption as a protocol v0 server would is asked for its advertisement, and the
      presumption is dropped for the remote.
    - a push made with `expected_refs` takes those as the server's refs instead of asking: the commands it
      sends carry them as the old values, and the server applies an update only if its ref still has that
      old value, so the compare-and-swap is the server's, as it is after a GET.

    Fetches ask for no progress messages, as git does when nobody watches (`no-progress`): nobody reads them,
    and they were 3.5 KiB of a one-file promotion's bytes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Protocol v0 (sent where the server advertises it); dulwich's v2 fetch takes no such argument, so
        # _smart_request adds it.
        self._fetch_capabilities.add(CAPABILITY_NO_PROGRESS)

    def remember_in(
        self,
        memo: _AdvertisementMemo,
        *,
        reuse_advertisement: bool,
        expected_refs: Mapping[Ref, ObjectID] | None,
    ) -> None:
        self._memo = memo
        self._reuse_advertisement = reuse_advertisement
        self._expected_refs = expected_refs

    def _discover_references(
        self,
        service: bytes,
        base_url: str,
        protocol_version: int | None = None,
        ref_prefix: Sequence[bytes] | None = None,
    ) -> tuple[dict[Ref, ObjectID | None], set[bytes], str, dict[Ref, Ref], dict[Ref, ObjectID]]:
        if service == b"git-receive-pack" and self._expected_refs is not None:
            self.protocol_version = 0
            return dict(self._expected_refs), set(_PRESUMED_RECEIVE_PACK), base_url, {}, {}
        if service != b"git-upload-pack":
            return super()._discover_references(service, base_url, protocol_version, ref_prefix)
        known = self._memo.current(base_url)
        if known is not None:
            self.protocol_version = 2
            if self._reuse_advertisement:
                return {}, set(known.capabilities), known.url, {}, {}
            try:
                refs, symrefs, peeled = self._list_refs(known, ref_prefix)
            except Exception as exc:
                if not known.presumed or not _answered_like_protocol_v0(exc):
                    raise
                logger.info(
                    "%s does not take protocol v2 requests without a capability advertisement (%s): asking "
                    "for it",
                    base_url,
                    "the server hung up" if isinstance(exc, HangupException) else exc,
                )
                self._memo.presume_v2 = False
            else:
                self._memo.latest = known
                return refs, set(known.capabilities), known.url, symrefs, peeled
        refs, capabilities, url, symrefs, peeled = super()._discover_references(
            service, base_url, protocol_version, ref_prefix
        )
        self._memo.latest = (
            _Advertisement(frozenset(capabilities), url, presumed=False)
            if self.protocol_version == 2
            else None
        )
        return refs, capabilities, url, symrefs, peeled

    def _smart_request(
        self, service: str, url: str, data: bytes | Iterator[bytes] | None
    ) -> tuple[Any, Callable[[int], bytes]]:
        if service == "git-upload-pack" and isinstance(data, bytes) and data.startswith(_FETCH_COMMAND):
            data = _with_argument(data, _NO_PROGRESS_ARGUMENT)
        return super()._smart_request(service, url, data)

    def _list_refs(
        self, known: _Advertisement, ref_prefix: Sequence[bytes] | None
    ) -> tuple[dict[Ref, ObjectID | None], dict[Ref, Ref], dict[Ref, ObjectID]]:
        """One ls-refs POST, on capabilities already known or presumed."""
        capabilities = set(known.capabilities)
        command, arguments = build_ls_refs_request_v2(
            capabilities, extract_object_format_from_capabilities(capabilities), ref_prefix
        )
        body = b"".join([*map(pkt_line, command), b"0001", *map(pkt_line, arguments), b"0000"])
        response, read = self._smart_request("git-upload-pack", known.url, body)
        try:
            return read_pkt_refs_v2(Protocol(read, lambda data: None).read_pkt_seq())
        finally:
            response.close()


def _with_argument(request: bytes, argument: bytes) -> bytes:
    """A protocol v2 request with `argument` (a packet) first among its arguments, after the delimiter packet
    that ends the command and its capabilities; unchanged if it has none."""
    position = 0
    while position + 4 <= len(request):
        length = int(request[position : position + 4], 16)
        if length == 1:
            position += 4
            return request[:position] + argument + request[position:]
        if length < 4:  # a flush or response-end packet: the request ended without arguments
            break
        position += length
    return request


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
            pool = default_urllib3_manager(
                None,
                pool_manager_cls=_StatusCheckingPoolManager,
                proxy_manager_cls=_StatusCheckingProxyManager,
                base_url=self.location,
                timeout=urllib3.Timeout(connect=min(timeout, _CONNECT_TIMEOUT_SECONDS), read=timeout),  # type: ignore[arg-type]
            )
            # dulwich wraps the manager in an AuthCallbackPoolManager only for an auth callback, never given here.
            assert isinstance(pool, urllib3.PoolManager)
            self._pool = pool
        else:
            self.location = url.strip()
        self._credentials = credentials
        self._advertisements = _AdvertisementMemo()
        self._secrets = _secret_spellings(credentials)
        self.display_url = self.scrub(self.location)
        client, _path = self._new_client()
        if not isinstance(client, Urllib3HttpGitClient | LocalGitClient):
            # The URL's value names a scheme we cannot serve, which is a ValueError to the caller, not a TypeError.
            raise ValueError(  # noqa: TRY004
                f"unsupported Git remote {self.display_url!r}: use an http(s) URL or a local repository path "
                "(ssh and git:// need programs the Lambda runtime does not have)"
            )

    def client(
        self, *, by_object_id: bool = False, expected_refs: Mapping[Ref, ObjectID] | None = None
    ) -> tuple[GitClient, str]:
        """A new dulwich client and the repository path to hand it.

        `by_object_id`: the client will only fetch objects by id, without looking at refs; over HTTP it skips
        discovery and fetches in one request. `expected_refs`: over HTTP, a push takes these as the remote's
        refs rather than asking for them (see `_HttpGitClient`); ignored by local repositories, which are read.
        """
        return self._new_client(by_object_id=by_object_id, expected_refs=expected_refs)

    def distrust_presumed_capabilities(self) -> bool:
        """After the server refused a request: stop presuming its capabilities if they were presumed, so that
        the next request asks for them; whether they were."""
        return self._advertisements.distrust_presumption()

    def _new_client(
        self, *, by_object_id: bool = False, expected_refs: Mapping[Ref, ObjectID] | None = None
    ) -> tuple[GitClient, str]:
        username = self._credentials.username if self._credentials else None
        password = self._credentials.password if self._credentials else None
        if self._pool is None:
            return get_transport_and_path(self.location, username=username, password=password)
        parts = urlparse(self.location)
        client = _HttpGitClient.from_parsedurl(
            parts, username=username, password=password, pool_manager=self._pool
        )
        assert isinstance(client, _HttpGitClient)
        if not self._advertisements.push_without_advertisement:
            expected_refs = None
        client.remember_in(
            self._advertisements, reuse_advertisement=by_object_id, expected_refs=expected_refs
        )
        return client, parts.path

    def takes_wants_by_id(self) -> bool:
        """Whether a fetch may want any commit by its id, as far as known: a local repository takes them, and so
        does a server once it answered as a protocol v2 server. Until then a presumption is no proof: git
        hangs up on a want it refuses as it would on a v2 request it does not understand."""
        return self._pool is None or self._advertisements.latest is not None

    def ask_for_ref_advertisements_before_pushing(self) -> bool:
        """After the server refused a push made without its ref advertisement: ask for it from now on; whether
        pushes went without it until now."""
        if not self._advertisements.push_without_advertisement:
            return False
        self._advertisements.push_without_advertisement = False
        return self._pool is not None

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
            if self._credentials is None:
                hint = "the server requires credentials"
            elif origin(exc.url) != origin(self.location):
                # urllib3 and dulwich keep credentials to the origin they were given for.
                hint = f"redirected to {redact(exc.url)}, where the credentials are not sent"
            else:
                hint = "credentials refused"
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


def _answered_like_protocol_v0(exc: BaseException) -> bool:
    """Whether a request made on presumed protocol v2 capabilities failed the way a server that does not
    speak v2 fails it (git's v0 upload-pack hangs up, dulwich's answers 400): anything but refused credentials,
    a missing repository or an unreachable server."""
    if isinstance(exc, _HttpStatusError):
        return exc.status not in (401, 403, 404, 407)
    # A hang-up may also be a dropped connection: the advertisement asked for next then fails the same way.
    return isinstance(exc, HangupException) or (
        isinstance(exc, GitProtocolError) and not _caused_by_network(exc)
    )


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
