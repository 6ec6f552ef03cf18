"""Git servers on 127.0.0.1 for the local demo and the tests, serving the bare repositories under a root.

Two implementations behind one interface (context manager, `url_for`, `requests_served`):

- `GitHttpBackendServer` runs `git http-backend` as CGI, the reference implementation GitHub-like hosts behave
  like (protocol v2, partial-clone filters, compare-and-swap ref updates).
- `GuardedDulwichServer` is dulwich's own server for machines without `git`. Dulwich 1.2.21 reports `ok` for a
  ref update whose old-value check failed, so concurrent pushes silently lose updates; the guard serialises
  receive-pack per repository and reports `ng` when the client's old value is not the current ref.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import io
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from dulwich.errors import GitProtocolError, NotGitRepository
from dulwich.index import commit_tree
from dulwich.objects import Blob, Commit
from dulwich.protocol import CAPABILITY_ATOMIC, ZERO_SHA
from dulwich.refs import HEADREF, local_branch_name
from dulwich.repo import Repo
from dulwich.server import BackendRepo, FileSystemBackend, ReceivePackHandler
from dulwich.web import make_wsgi_chain

from promotions.git import Author, HttpCredentials, checked_path
from promotions_local.loopback import LoopbackServer

logger = logging.getLogger(__name__)

LOCAL_AUTHOR = Author("Promotions", "promotions@localhost")
_REGULAR_FILE_MODE = 0o100644


def create_bare_repository(
    path: Path,
    files: Mapping[str, bytes],
    *,
    branch: str = "main",
    message: str = "Initial commit",
    author: Author = LOCAL_AUTHOR,
) -> str:
    """Create a bare repository at `path`: `branch` (also HEAD) holds one commit of `files`; return its sha.

    Built with dulwich alone, so the demo runs where `git` is not installed. `path` must not exist yet.
    """
    if not files:
        raise ValueError(
            f"create_bare_repository({path}): files is empty; a first commit needs at least one file"
        )
    repo = Repo.init_bare(str(path), mkdir=True)
    with repo:
        blobs = []
        for file_path, content in files.items():
            blob = Blob.from_string(content)
            repo.object_store.add_object(blob)
            blobs.append((checked_path(file_path).encode(), blob.id, _REGULAR_FILE_MODE))
        commit = Commit()
        commit.tree = commit_tree(repo.object_store, blobs)
        commit.author = commit.committer = author.identity
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = message.encode() if message.endswith("\n") else f"{message}\n".encode()
        repo.object_store.add_object(commit)
        branch_ref = local_branch_name(branch.encode())
        repo.refs[branch_ref] = commit.id
        repo.refs.set_symbolic_ref(HEADREF, branch_ref)
    return commit.id.decode("ascii")


@dataclass(frozen=True, slots=True)
class GitServerResponse:
    """What a local server answers; a test may answer one itself to stand in for a failing server."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    remote_addr: str
    remote_user: str | None


class _RepositoryServer(LoopbackServer, ABC):
    """A threaded HTTP server on an ephemeral 127.0.0.1 port; subclasses turn a request into a response.

    HTTP/1.1 with keep-alive: request bodies come with Content-Length or chunked; responses have a length.
    """

    def __init__(self, root: Path, *, credentials: HttpCredentials | None = None) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ValueError(f"{type(self).__name__}: repository root {self.root} is not a directory")
        self._credentials = credentials
        self._requests_served = 0
        self._request_log: list[str] = []
        self._bytes_sent = 0
        self._count_lock = threading.Lock()
        super().__init__()

    def _handler(self) -> Callable[..., BaseHTTPRequestHandler]:
        return functools.partial(_GitRequestHandler, self)

    def url_for(self, repo_name: str) -> str:
        """The clone URL of the bare repository `root/repo_name`."""
        return f"{self.base_url}/{repo_name.strip('/')}"

    @property
    def requests_served(self) -> int:
        with self._count_lock:
            return self._requests_served

    @property
    def request_log(self) -> list[str]:
        """Every request so far as `METHOD last-path-segment[?query]`, e.g. `POST git-upload-pack`."""
        with self._count_lock:
            return list(self._request_log)

    def _count_request(self, method: str, path: str) -> None:
        with self._count_lock:
            self._requests_served += 1
            self._request_log.append(f"{method} {path.rsplit('/', 1)[-1]}")

    @property
    def bytes_sent(self) -> int:
        """Bytes of every response so far, status line and headers included: what clients received."""
        with self._count_lock:
            return self._bytes_sent

    def _count_bytes(self, count: int) -> None:
        with self._count_lock:
            self._bytes_sent += count

    def _authenticated_user(self, authorization: str | None) -> str | None:
        """The user an Authorization header proves, None when none is required; PermissionError if wrong."""
        if self._credentials is None:
            return None
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = password = ""
        valid = scheme.lower() == "basic" and hmac.compare_digest(
            f"{username}:{password}".encode(),
            f"{self._credentials.username}:{self._credentials.password}".encode(),
        )
        if not valid:
            raise PermissionError("authentication required")
        return username

    @abstractmethod
    def respond(self, request: _Request) -> GitServerResponse:
        """The response to one authenticated request."""


class _GitRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small responses on kept-alive connections otherwise wait out the peer's delayed ACK (~40 ms each).
    disable_nagle_algorithm = True
    # Where send_response and send_header queue the status line and headers until end_headers: http.server
    # keeps it out of its documented interface (and typeshed out of its stubs), _send counts it.
    _headers_buffer: list[bytes]

    def __init__(self, server_impl: _RepositoryServer, *args: Any) -> None:
        self._impl = server_impl
        super().__init__(*args)

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            # A client may stop reading a response it has no use for, as a fetch grown past its limit does, and
            # close the connection with the rest unread.
            logger.debug("%s: a client hung up", type(self._impl).__name__)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        self._impl._count_request(self.command, self.path)
        body = self._read_body()
        try:
            remote_user = self._impl._authenticated_user(self.headers.get("Authorization"))
        except PermissionError:
            self._send(
                GitServerResponse(
                    401, [("WWW-Authenticate", 'Basic realm="promotions"')], b"authentication required\n"
                )
            )
            return
        parts = urlsplit(self.path)
        request = _Request(
            method=self.command,
            path=unquote(parts.path),
            query=parts.query,
            headers={key: value for key, value in self.headers.items()},
            body=body,
            remote_addr=self.client_address[0],
            remote_user=remote_user,
        )
        try:
            response = self._impl.respond(request)
        except GitProtocolError as exc:
            # What git reports as an ERR line: e.g. a want whose ref moved since it was advertised.
            logger.info("%s refused %s %s: %s", type(self._impl).__name__, self.command, self.path, exc)
            response = GitServerResponse(400, [("Content-Type", "text/plain")], f"{exc}\n".encode())
        except Exception:
            logger.exception("%s failed on %s %s", type(self._impl).__name__, self.command, self.path)
            response = GitServerResponse(500, [("Content-Type", "text/plain")], b"internal server error\n")
        self._send(response)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    # Trailer section: header lines up to an empty line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, response: GitServerResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        # Counted before it is written, so that a client which has read the response finds it counted. The
        # status line and headers wait in _headers_buffer, plus the blank line end_headers adds.
        self._impl._count_bytes(sum(map(len, self._headers_buffer)) + len(b"\r\n") + len(response.body))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: " + format, type(self._impl).__name__, *args)


class GitHttpBackendServer(_RepositoryServer):
    """Serves every bare repository under `root` by running `git-http-backend` as CGI, as web servers do.

    Pushes are enabled (http.receivepack) without authentication unless `credentials` are given. Protocol v2
    is passed through from the Git-Protocol header unless `protocol_v2=False`, which makes the server behave
    like a v0-only host. `allow_filter` enables partial-clone filters (uploadpack.allowFilter), as GitHub and
    GitLab do. Everything else is `git http-backend`'s defaults: in particular
    uploadpack.allowReachableSHA1InWant is off, so a protocol v0 client may only ask for advertised ref tips.
    `config` adds git configuration for the served repositories: e.g. the filter limits of a host, as
    `{"uploadpackfilter.tree.maxDepth": "0"}` for a host that allows tree:0 but no deeper tree filter.
    """

    def __init__(
        self,
        root: Path,
        *,
        credentials: HttpCredentials | None = None,
        protocol_v2: bool = True,
        allow_filter: bool = True,
        config: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(root, credentials=credentials)
        git = shutil.which("git")
        if git is None:
            raise RuntimeError(
                "GitHttpBackendServer needs `git` on PATH; use GuardedDulwichServer without it"
            )
        self._backend = _http_backend_command(git)
        self._protocol_v2 = protocol_v2
        config = {
            "http.receivepack": "true",
            "uploadpack.allowFilter": "true" if allow_filter else "false",
            **(config or {}),
        }
        self._base_env = {
            "PATH": os.environ.get("PATH", ""),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            # The served repositories must not depend on the configuration of whoever runs the server.
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_COUNT": str(len(config)),
            **{f"GIT_CONFIG_KEY_{index}": key for index, key in enumerate(config)},
            **{f"GIT_CONFIG_VALUE_{index}": value for index, value in enumerate(config.values())},
        }
        if "HOME" in os.environ:
            self._base_env["HOME"] = os.environ["HOME"]

    def respond(self, request: _Request) -> GitServerResponse:
        env = {
            **self._base_env,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": request.method,
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(request.body)),
            "REMOTE_ADDR": request.remote_addr,
        }
        if request.remote_user is not None:
            env["REMOTE_USER"] = request.remote_user
        if "Content-Encoding" in request.headers:
            env["HTTP_CONTENT_ENCODING"] = request.headers["Content-Encoding"]
        if self._protocol_v2 and "Git-Protocol" in request.headers:
            env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
        completed = subprocess.run(
            self._backend, input=request.body, env=env, capture_output=True, check=False
        )
        if completed.stderr:
            logger.debug(
                "git http-backend %s: %s", request.path, completed.stderr.decode(errors="replace").strip()
            )
        return _parse_cgi_output(completed.stdout)


def _http_backend_command(git: str) -> list[str]:
    """The `git-http-backend` program itself, as web servers run it (git-http-backend(1) aliases the URL to
    it): `git http-backend` would spend one more process on every request finding it there."""
    exec_path = subprocess.run([git, "--exec-path"], capture_output=True, text=True, check=True).stdout
    backend = Path(exec_path.strip()) / "git-http-backend"
    if not os.access(backend, os.X_OK):
        raise RuntimeError(
            f"GitHttpBackendServer needs git-http-backend in git's exec path ({backend} is missing); "
            "some distributions package it apart from git"
        )
    return [str(backend)]


def _parse_cgi_output(output: bytes) -> GitServerResponse:
    header_end = min(
        (index for index in (output.find(b"\r\n\r\n"), output.find(b"\n\n")) if index >= 0), default=-1
    )
    if header_end < 0:
        return GitServerResponse(
            502, [("Content-Type", "text/plain")], b"git http-backend sent no CGI headers\n"
        )
    separator = 4 if output[header_end : header_end + 4] == b"\r\n\r\n" else 2
    status = 200
    headers = []
    for line in output[:header_end].decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name.strip(), value.strip()))
    return GitServerResponse(status, headers, output[header_end + separator :])


class _RepositoryLocks:
    """One lock per repository directory, so receive-pack runs one at a time per repository."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def for_repository(self, repo: BackendRepo) -> threading.Lock:
        key = os.path.realpath(repo.path)  # type: ignore[attr-defined]
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


class _GuardedReceivePackHandler(ReceivePackHandler):
    """Receive-pack that reports `ng` for a ref whose old value is not the current one, instead of `ok`."""

    def __init__(self, *args: Any, locks: _RepositoryLocks, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._locks = locks

    def capabilities(self) -> Iterable[bytes]:
        # An atomic push would need every ref checked before any is applied; no client here needs it.
        return [capability for capability in super().capabilities() if capability != CAPABILITY_ATOMIC]

    def _apply_pack(self, refs: list[tuple[bytes, bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:  # type: ignore[override]
        with self._locks.for_repository(self.repo):
            stale = {name for old, _new, name in refs if self._current(name) != old}
            for name, status in super()._apply_pack(refs):  # type: ignore[arg-type]
                # The base class tried set_if_equals, which refused the stale update, yet reported ok.
                yield name, (b"stale info: the ref moved" if name in stale and status == b"ok" else status)

    def _current(self, ref: bytes) -> bytes:
        try:
            return self.repo.refs[ref]  # type: ignore[index]
        except KeyError:
            return ZERO_SHA


class _RootedBackend(FileSystemBackend):
    """FileSystemBackend resolving the URL path `/name.git` under its root, not at the filesystem root."""

    def open_repository(self, path: str) -> BackendRepo:
        relative = os.fsdecode(path).lstrip("/")
        if not relative:
            raise NotGitRepository("no repository named in the URL")
        return super().open_repository(relative)


class GuardedDulwichServer(_RepositoryServer):
    """Serves every bare repository under `root` with dulwich's smart-HTTP app, safe for concurrent pushes."""

    def __init__(self, root: Path, *, credentials: HttpCredentials | None = None) -> None:
        super().__init__(root, credentials=credentials)
        handler = functools.partial(_GuardedReceivePackHandler, locks=_RepositoryLocks())
        self._app = make_wsgi_chain(_RootedBackend(str(self.root)), handlers={b"git-receive-pack": handler})

    def respond(self, request: _Request) -> GitServerResponse:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(request.body)),
            "REMOTE_ADDR": request.remote_addr,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": self.base_url.rsplit(":", 1)[1],
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in request.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            # The body handed over is already de-chunked.
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"):
                environ[key] = value
        if request.remote_user is not None:
            environ["REMOTE_USER"] = request.remote_user
        return _call_wsgi(self._app, environ)


def _call_wsgi(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> GitServerResponse:
    started: list[tuple[str, list[tuple[str, str]]]] = []
    body = bytearray()

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> Callable[[bytes], None]:
        started[:] = [(status, headers)]
        return body.extend

    result = app(environ, start_response)
    try:
        for chunk in result:
            body.extend(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started[0]
    return GitServerResponse(int(status.split()[0]), headers, bytes(body))


def serve_repositories(root: Path) -> GitHttpBackendServer | GuardedDulwichServer:
    """The best local server here: `git http-backend` where git is installed, else the guarded dulwich one."""
    if shutil.which("git") is not None:
        return GitHttpBackendServer(root)
    return GuardedDulwichServer(root)
