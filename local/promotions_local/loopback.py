"""A threaded HTTP server on an ephemeral 127.0.0.1 port, started and stopped as a context manager: the one
lifecycle every local server here shares (Git servers, fake Argo CD and Git provider APIs)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


class _ThreadingHTTPServer(ThreadingHTTPServer):
    # socketserver's default backlog of 5 resets connections when tests open dozens at once.
    request_queue_size = 128


class LoopbackServer:
    def __init__(self, *, port: int = 0) -> None:
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handler(self) -> Callable[..., BaseHTTPRequestHandler]:
        """The request handler class (or a factory of handlers) this server answers with."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        httpd = _ThreadingHTTPServer(("127.0.0.1", self._port), self._handler())
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running: use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_port}"
