"""The shared HTTP client against a real server on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from promotions.http import HttpClient, HttpTransientError, redact


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers["Content-Length"])
        received = json.loads(self.rfile.read(length))
        status = {"/ok": 201, "/missing": 404, "/broken": 503}[self.path]
        body = json.dumps({"echo": received, "auth": self.headers.get("Authorization")}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_json_round_trip_and_4xx_is_an_answer(server):
    client = HttpClient()
    response = client.request(
        "POST", f"{server}/ok", json_body={"a": 1}, headers={"Authorization": "Bearer t"}
    )
    assert response.status == 201 and response.ok
    assert response.json() == {"echo": {"a": 1}, "auth": "Bearer t"}
    missing = client.request("POST", f"{server}/missing", json_body={})
    assert missing.status == 404 and not missing.ok


def test_5xx_and_refused_connections_are_transient_and_hide_credentials(server):
    client = HttpClient()
    with pytest.raises(HttpTransientError, match="HTTP 503"):
        client.request("POST", f"{server}/broken", json_body={})
    with pytest.raises(HttpTransientError) as caught:
        client.request("GET", "http://user:s3cret@127.0.0.1:1/x?token=abc")
    assert "s3cret" not in str(caught.value) and "abc" not in str(caught.value)
    with pytest.raises(HttpTransientError, match=r"GET https://127\.0\.0\.1:\d+/broken: SSLError$"):
        client.request("GET", server.replace("http://", "https://") + "/broken")


def test_redact_drops_userinfo_and_query():
    assert (
        redact("https://u:p@git.example:8443/a/b.git?private_token=x") == "https://git.example:8443/a/b.git"
    )


def redirect_to(location: str):
    return lambda request: (307, b"", {"Location": location})


CREDENTIAL_HEADERS = {"Authorization": "Bearer api-token", "PRIVATE-TOKEN": "glpat-token", "X-Api-Key": "key"}


def test_redirects_are_followed_on_the_same_origin_with_every_header(api):
    api.respond("GET", "/renamed", lambda request: (301, b"", {"Location": "/moved"}))
    api.respond("POST", "/moved", redirect_to(f"{api.url}/landed"))
    api.route("GET", "/moved", {"moved": True})
    api.route("POST", "/landed", {"landed": True})
    client = HttpClient()

    assert client.request("GET", f"{api.url}/renamed", headers=CREDENTIAL_HEADERS).json() == {"moved": True}
    assert client.request("POST", f"{api.url}/moved", headers=CREDENTIAL_HEADERS, json_body={}).json() == {
        "landed": True
    }
    for request in api.requests:
        assert CREDENTIAL_HEADERS.items() <= request.headers.items(), request.path


@pytest.mark.parametrize("leaving_by", ["port", "host"])
def test_a_redirect_to_another_origin_carries_none_of_the_callers_headers(api, other_api, leaving_by):
    elsewhere = other_api if leaving_by == "port" else api
    elsewhere_url = other_api.url if leaving_by == "port" else api.url.replace("127.0.0.1", "localhost")
    api.respond("GET", "/start", redirect_to(f"{elsewhere_url}/landing"))
    elsewhere.route("GET", "/landing", {"landed": True})

    response = HttpClient().request("GET", f"{api.url}/start", headers=CREDENTIAL_HEADERS)

    assert response.json() == {"landed": True}
    [landing] = [request for request in elsewhere.requests if request.path == "/landing"]
    sent = {name.lower() for name in landing.headers}
    assert not sent & {name.lower() for name in CREDENTIAL_HEADERS}
    assert "user-agent" in sent


def test_a_redirect_past_the_fifth_is_the_answer(api):
    api.respond("GET", "/loop", redirect_to("/loop"))

    response = HttpClient().request("GET", f"{api.url}/loop")

    assert response.status == 307 and not response.ok
    assert len(api.requests) == 6
