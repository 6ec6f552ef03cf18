"""Failures as types: unreachable and failing servers, missing repositories, credentials, refused and
interrupted pushes. Credentials never show in what an error says."""

from __future__ import annotations

import logging
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import urllib3
from dulwich.client import Urllib3HttpGitClient

from promotions.git import (
    Author,
    GitAuthError,
    GitError,
    GitRemote,
    GitTransientError,
    HttpCredentials,
    PushRejected,
    RepositoryNotFound,
)
from promotions_local.git_server import GitHttpBackendServer, GuardedDulwichServer

REPO = "app.git"
PASSWORD = "s3cret/t0ken+with:chars"
CREDENTIALS = HttpCredentials("promotions-bot", PASSWORD)


SECRET_SPELLINGS = [PASSWORD, quote(PASSWORD, safe=""), "s3cret"]


def error_texts(error: BaseException) -> str:
    """Everything an error chain would print: each message and repr, causes and contexts included."""
    texts = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Unavailable(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(503, "maintenance")

    def do_POST(self) -> None:
        self.send_error(503, "maintenance")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def unavailable_url() -> Iterator[str]:
    with ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}/{REPO}"
        httpd.shutdown()


def test_connection_refused_is_transient(closed_port: int, author: Author):
    remote = GitRemote(f"http://127.0.0.1:{closed_port}/{REPO}")

    with pytest.raises(GitTransientError, match=f"127.0.0.1:{closed_port}/{REPO}"):
        remote.snapshot("main")
    with pytest.raises(GitTransientError):
        remote.commit("main", lambda _: {"a.txt": b"a\n"}, "Unreachable", author)


def test_http_5xx_is_transient_and_names_repo_and_ref(unavailable_url: str):
    with pytest.raises(GitTransientError) as raised:
        GitRemote(unavailable_url).snapshot("main")

    assert "HTTP 503" in str(raised.value)
    assert unavailable_url in str(raised.value)
    assert "refs/heads/main" in str(raised.value)


@pytest.mark.parametrize("server", ["git-http-backend", "guarded-dulwich"], indirect=True)
def test_a_missing_repository_is_repository_not_found(server: GitHttpBackendServer | GuardedDulwichServer):
    with pytest.raises(RepositoryNotFound, match="missing.git"):
        GitRemote(server.url_for("missing.git")).snapshot("main")


def test_a_missing_local_repository_is_repository_not_found(tmp_path: Path):
    with pytest.raises(RepositoryNotFound):
        GitRemote(str(tmp_path / "nowhere.git")).snapshot("main")


@pytest.mark.parametrize(
    "url", ["ssh://git@github.com/org/app.git", "git@github.com:org/app.git", "git://host/app"]
)
def test_transports_needing_other_programs_are_refused_up_front(url: str):
    with pytest.raises(ValueError, match="unsupported Git remote"):
        GitRemote(url)


@pytest.fixture(
    params=[GitHttpBackendServer, GuardedDulwichServer], ids=["git-http-backend", "guarded-dulwich"]
)
def private_server(request: pytest.FixtureRequest, repo_root: Path) -> Iterator[str]:
    """The seeded repository behind a server that requires CREDENTIALS."""
    if request.param is GitHttpBackendServer and shutil.which("git") is None:
        pytest.skip("git http-backend needs the git binary")
    with request.param(repo_root, credentials=CREDENTIALS) as server:
        yield server.url_for(REPO)


def test_credentials_open_a_private_repository_explicitly_or_in_the_url(private_server: str, author: Author):
    assert GitRemote(private_server, CREDENTIALS).snapshot("main").read("README.md") == b"# app\n"

    in_url = private_server.replace("http://", f"http://{CREDENTIALS.username}:{quote(PASSWORD, safe='')}@")
    remote = GitRemote(in_url)
    outcome = remote.commit("main", lambda _: {"README.md": b"# private app\n"}, "Edit", author)
    assert outcome.commit_sha is not None
    assert PASSWORD not in remote.url and quote(PASSWORD, safe="") not in remote.url


def test_missing_credentials_are_an_auth_error(private_server: str):
    with pytest.raises(GitAuthError, match="requires credentials"):
        GitRemote(private_server).snapshot("main")


def test_refused_credentials_are_an_auth_error_that_never_shows_them(
    private_server: str, caplog: pytest.LogCaptureFixture
):
    wrong = HttpCredentials("promotions-bot", PASSWORD + "-expired")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(GitAuthError, match="credentials refused") as raised:
            GitRemote(private_server, wrong).snapshot("main")

    for text in (error_texts(raised.value), caplog.text, repr(wrong)):
        for secret in SECRET_SPELLINGS:
            assert secret not in text


def test_credentials_in_the_url_never_show_in_network_errors(
    closed_port: int, caplog: pytest.LogCaptureFixture
):
    remote = GitRemote(f"https://promotions-bot:{quote(PASSWORD, safe='')}@127.0.0.1:{closed_port}/{REPO}")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(GitTransientError) as raised:
            remote.snapshot("main")

    for text in (error_texts(raised.value), caplog.text, repr(remote), remote.url):
        for secret in SECRET_SPELLINGS:
            assert secret not in text
    assert f"127.0.0.1:{closed_port}/{REPO}" in str(raised.value)


@pytest.mark.parametrize("max_attempts", [8, 1])
def test_a_hook_refusing_the_push_is_push_rejected_not_a_race(
    git_server: GitHttpBackendServer, bare_repo: Path, author: Author, branch_history, max_attempts
):
    """Told apart by the branch still being where the push found it; with no attempt left, all the same."""
    hook = bare_repo / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'main is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = branch_history()[0].id

    with pytest.raises(PushRejected, match="pre-receive hook declined") as raised:
        GitRemote(git_server.url_for(REPO)).commit(
            "main", lambda _: {"a.txt": b"a\n"}, "Frozen", author, max_attempts=max_attempts
        )

    assert not isinstance(raised.value, GitTransientError)
    assert branch_history()[0].id == before


def interrupt_send_pack(
    monkeypatch: pytest.MonkeyPatch, *, after_sending: bool, then=lambda: None
) -> list[int]:
    """Make the first push fail like a dropped connection, before or after the pack reached the server."""
    real_send_pack = Urllib3HttpGitClient.send_pack
    calls: list[int] = []

    def dropped(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            return real_send_pack(self, *args, **kwargs)
        if after_sending:
            real_send_pack(self, *args, **kwargs)
            then()
        raise urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))

    monkeypatch.setattr(Urllib3HttpGitClient, "send_pack", dropped)
    return calls


def test_a_push_that_landed_before_the_connection_dropped_is_not_pushed_again(
    git_server: GitHttpBackendServer, author: Author, branch_history, monkeypatch: pytest.MonkeyPatch
):
    base = branch_history()[0].id.decode()
    pushes = interrupt_send_pack(monkeypatch, after_sending=True)

    outcome = GitRemote(git_server.url_for(REPO)).commit("main", lambda _: {"a.txt": b"a\n"}, "Once", author)

    history = branch_history()
    assert len(pushes) == 1
    assert outcome.attempts == 1
    assert [commit.id.decode() for commit in history[:2]] == [outcome.commit_sha, base]


def test_a_landed_push_is_found_under_commits_pushed_on_top_of_it(
    git_server: GitHttpBackendServer, author: Author, branch_history, monkeypatch: pytest.MonkeyPatch
):
    url = git_server.url_for(REPO)

    def another_writer_builds_on_it() -> None:
        GitRemote(url).commit("main", lambda _: {"b.txt": b"b\n"}, "On top", author)

    interrupt_send_pack(monkeypatch, after_sending=True, then=another_writer_builds_on_it)

    outcome = GitRemote(url).commit("main", lambda _: {"a.txt": b"a\n"}, "Buried", author)

    history = branch_history()
    assert outcome.attempts == 1
    assert history[1].id.decode() == outcome.commit_sha
    assert [commit.message for commit in history].count(b"Buried\n") == 1


def test_a_push_dropped_before_it_landed_is_retried(
    git_server: GitHttpBackendServer, author: Author, branch_history, monkeypatch: pytest.MonkeyPatch
):
    pushes = interrupt_send_pack(monkeypatch, after_sending=False)

    outcome = GitRemote(git_server.url_for(REPO)).commit(
        "main", lambda _: {"a.txt": b"a\n"}, "Retried", author
    )

    assert len(pushes) == 2
    assert outcome.attempts == 2
    assert branch_history()[0].id.decode() == outcome.commit_sha


def test_an_outcome_that_cannot_be_checked_is_a_transient_error_saying_so(
    git_server: GitHttpBackendServer, author: Author, monkeypatch: pytest.MonkeyPatch
):
    def server_gone(self, *args, **kwargs):
        raise urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))

    def server_goes_away() -> None:
        monkeypatch.setattr(Urllib3HttpGitClient, "get_refs", server_gone)

    interrupt_send_pack(monkeypatch, after_sending=True, then=server_goes_away)

    with pytest.raises(GitTransientError, match="outcome unknown") as raised:
        GitRemote(git_server.url_for(REPO)).commit("main", lambda _: {"a.txt": b"a\n"}, "Unknown", author)
    assert type(raised.value) is GitTransientError
    assert isinstance(raised.value, GitError)


class _ResettingProxy:
    """A TCP proxy on 127.0.0.1 that resets the first `resets` connections once a request has arrived on them,
    as a busy host or load balancer may, and forwards every later one to `upstream`."""

    def __init__(self, upstream_port: int, resets: int) -> None:
        self._upstream_port = upstream_port
        self._resets_left = resets
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            if self._resets_left > 0:
                self._resets_left -= 1
                client.recv(65536)
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self._upstream_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._listener.close()


def test_a_reset_connection_under_a_read_is_retried(git_server: GitHttpBackendServer, author: Author):
    """The first request of a fresh remote is a POST (ls-refs): only reading, it is retried like a GET."""
    upstream_port = int(git_server.base_url.rsplit(":", 1)[1])
    proxy = _ResettingProxy(upstream_port, resets=2)
    try:
        remote = GitRemote(f"http://127.0.0.1:{proxy.port}/{REPO}")
        outcome = remote.commit(
            "main", lambda tip: {"envs/dev/values.yaml": b"image: app:2.0.0\n"}, "Promote", author
        )
    finally:
        proxy.close()
    assert outcome.commit_sha is not None
    assert GitRemote(git_server.url_for(REPO)).snapshot("main").read("envs/dev/values.yaml") == b"image: app:2.0.0\n"
