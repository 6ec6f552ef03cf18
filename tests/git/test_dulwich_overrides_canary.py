"""Canaries for the private dulwich methods promotions/git/transport.py overrides or calls: each fails naming the
override when a dulwich release changes what it relies on, where a change would otherwise cost round trips or
the compare-and-swap silently, not fail a test.

Signatures are read with inspect; behaviour is checked on dulwich's own request builders and parsers, and on
requests to a loopback git http-backend, whose log shows what went over the wire.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_args, get_type_hints

import dulwich
import pytest
from dulwich.client import (
    AbstractHttpGitClient,
    Urllib3HttpGitClient,
    build_fetch_request_v2,
    build_ls_refs_request_v2,
    default_urllib3_manager,
    extract_object_format_from_capabilities,
    read_pkt_refs_v2,
)
from dulwich.protocol import CAPABILITY_NO_PROGRESS, pkt_line

from promotions.git import GitRemote
from promotions.git import transport as transport_module
from promotions.git.transport import DULWICH_VERSION, Transport
from promotions_local.git_server import GitHttpBackendServer

REPO = "app.git"
MAIN = b"refs/heads/main"
SOME_SHA = b"1" * 40
INSTALLED = ".".join(map(str, dulwich.__version__))


def broken(override: str, relied_on: str) -> str:
    return (
        f"promotions/git/transport.py: {override} relies on {relied_on} (as in dulwich {DULWICH_VERSION}), "
        f"and dulwich {INSTALLED} changed that. Adapt {override}, or drop it if dulwich now does its job, "
        "then set DULWICH_VERSION."
    )


def parameter_names(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_installed_dulwich_is_the_one_the_overrides_were_checked_against():
    assert INSTALLED == DULWICH_VERSION, (
        f"promotions/git/transport.py overrides private methods of dulwich {DULWICH_VERSION}, but dulwich "
        f"{INSTALLED} is installed: run tests/git/test_dulwich_overrides_canary.py against it, adapt what "
        "fails, then set DULWICH_VERSION to the new release."
    )


def test_discover_references_keeps_the_signature_and_answer_the_override_replaces():
    override = "_HttpGitClient._discover_references"
    assert parameter_names(AbstractHttpGitClient._discover_references) == [
        "self",
        "service",
        "base_url",
        "protocol_version",
        "ref_prefix",
    ], broken(
        override,
        "AbstractHttpGitClient._discover_references(service, base_url, protocol_version, ref_prefix)",
    )
    answer = get_type_hints(AbstractHttpGitClient._discover_references)["return"]
    assert len(get_args(answer)) == 5, broken(
        override, "an answer of (refs, capabilities, url, symrefs, peeled) from _discover_references"
    )


@pytest.mark.parametrize("caller", ["fetch_pack", "get_refs", "send_pack"])
def test_every_http_operation_still_discovers_references_through_the_overridden_method(caller: str):
    source = inspect.getsource(getattr(AbstractHttpGitClient, caller))
    assert "self._discover_references(" in source, broken(
        "_HttpGitClient._discover_references",
        f"AbstractHttpGitClient.{caller} asking self._discover_references for the refs and capabilities",
    )


def test_smart_request_keeps_the_signature_the_override_takes():
    assert parameter_names(AbstractHttpGitClient._smart_request) == ["self", "service", "url", "data"], (
        broken("_HttpGitClient._smart_request", "AbstractHttpGitClient._smart_request(service, url, data)")
    )


def test_a_protocol_v2_fetch_request_is_still_laid_out_as_the_no_progress_insertion_expects():
    override = "_HttpGitClient._smart_request (no-progress)"
    command = b"".join(pkt_line(packet) for packet in build_fetch_request_v2(None))
    assert command.startswith(transport_module._FETCH_COMMAND), broken(
        override, "a v2 fetch request opening with the command=fetch packet"
    )
    fetch_source = inspect.getsource(AbstractHttpGitClient.fetch_pack)
    assert 'data += b"0001"' in fetch_source, broken(
        override, "a delimiter packet between a v2 fetch's capabilities and its arguments"
    )
    assert b"no-progress" not in fetch_source.encode(), broken(
        override, "dulwich's v2 fetch not asking for no-progress itself"
    )
    request = command + b"0001" + pkt_line(b"thin-pack\n") + b"0000"
    assert transport_module._with_argument(request, transport_module._NO_PROGRESS_ARGUMENT) == (
        command + b"0001" + pkt_line(b"no-progress\n") + pkt_line(b"thin-pack\n") + b"0000"
    )


def test_the_fetch_capabilities_the_constructor_extends_are_negotiated_with_the_server():
    override = "_HttpGitClient.__init__ (no-progress over protocol v0)"
    client = Urllib3HttpGitClient("http://127.0.0.1:9/app.git")
    assert isinstance(getattr(client, "_fetch_capabilities", None), set), broken(
        override, "GitClient._fetch_capabilities, a set of the capabilities a fetch asks for"
    )
    client._fetch_capabilities.add(CAPABILITY_NO_PROGRESS)
    negotiated, _symrefs, _agent = client._negotiate_upload_pack_capabilities(
        {CAPABILITY_NO_PROGRESS, b"side-band-64k", b"ofs-delta"}
    )
    assert CAPABILITY_NO_PROGRESS in negotiated, broken(
        override, "GitClient._negotiate_upload_pack_capabilities asking for what _fetch_capabilities holds"
    )


def test_the_ls_refs_builders_and_parser_the_listing_calls_still_work_as_it_uses_them():
    override = "_HttpGitClient._list_refs"
    assert parameter_names(build_ls_refs_request_v2) == [
        "server_capabilities",
        "object_format",
        "ref_prefix",
    ], broken(override, "build_ls_refs_request_v2(server_capabilities, object_format, ref_prefix)")
    command, arguments = build_ls_refs_request_v2({b"ls-refs"}, None, [MAIN])
    assert command[0] == b"command=ls-refs\n" and b"ref-prefix refs/heads/main" in arguments, broken(
        override, "build_ls_refs_request_v2 answering (command packets, argument packets)"
    )
    assert extract_object_format_from_capabilities(set()) is None, broken(
        override, "extract_object_format_from_capabilities naming no format where the server names none"
    )
    listing = [b"%s HEAD symref-target:refs/heads/main" % SOME_SHA, b"%s refs/heads/main" % SOME_SHA]
    refs, symrefs, peeled = read_pkt_refs_v2(listing)
    assert (refs, symrefs, peeled) == ({b"HEAD": SOME_SHA, MAIN: SOME_SHA}, {b"HEAD": MAIN}, {}), broken(
        override, "read_pkt_refs_v2 answering (refs, symrefs, peeled) from ls-refs lines"
    )


def test_the_pool_and_client_constructors_still_take_what_the_transport_passes():
    assert {"pool_manager_cls", "proxy_manager_cls", "base_url", "timeout"} <= set(
        parameter_names(default_urllib3_manager)
    ), broken("Transport.__init__", "default_urllib3_manager taking pool and proxy manager classes")
    assert {"username", "password", "pool_manager"} <= set(
        parameter_names(Urllib3HttpGitClient.from_parsedurl)
    ), broken("Transport._new_client", "Urllib3HttpGitClient.from_parsedurl taking credentials and a pool")


@pytest.fixture
def served(git_server: GitHttpBackendServer) -> tuple[GitHttpBackendServer, Transport]:
    return git_server, Transport(git_server.url_for(REPO), None, 10.0)


def test_listing_refs_on_presumed_protocol_v2_capabilities_is_one_request(served):
    server, transport = served
    client, path = transport.client()
    before = len(server.request_log)

    refs = client.get_refs(path, ref_prefix=[MAIN]).refs

    assert MAIN in refs
    assert server.request_log[before:] == ["POST git-upload-pack"], broken(
        "_HttpGitClient._discover_references",
        "get_refs taking the refs _discover_references answers, with no capability advertisement asked first",
    )


def test_a_push_with_expected_refs_takes_them_as_the_servers_without_asking(served):
    server, transport = served
    client, path = transport.client(expected_refs={MAIN: SOME_SHA})
    refs_given: list[dict[bytes, bytes]] = []
    before = len(server.request_log)

    def update_nothing(refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
        refs_given.append(dict(refs))
        return {}

    client.send_pack(path, update_nothing, lambda *args, **kwargs: (0, iter([])))

    assert refs_given == [{MAIN: SOME_SHA}], broken(
        "_HttpGitClient._discover_references (expected_refs)",
        "send_pack handing update_refs the refs _discover_references answers, whose values the push sends "
        "as the old values the server compares",
    )
    assert server.request_log[before:] == []


def test_a_fetch_asks_the_server_for_no_progress_messages(served, monkeypatch: pytest.MonkeyPatch):
    server, _transport = served
    bodies: list[bytes] = []
    dulwich_smart_request = AbstractHttpGitClient._smart_request

    def recording(self, service, url, data):
        if service == "git-upload-pack" and isinstance(data, bytes):
            bodies.append(data)
        return dulwich_smart_request(self, service, url, data)

    monkeypatch.setattr(AbstractHttpGitClient, "_smart_request", recording)

    GitRemote(server.url_for(REPO)).snapshot("main", ["envs/dev/values.yaml"])

    fetches = [body for body in bodies if body.startswith(transport_module._FETCH_COMMAND)]
    assert fetches, broken("_HttpGitClient._smart_request", "fetch_pack sending its v2 request as bytes")
    assert all(b"0001" + pkt_line(b"no-progress\n") in body for body in fetches), broken(
        "_HttpGitClient._smart_request", "fetch_pack sending its v2 request through _smart_request"
    )
