"""The CLI's client verbs: they speak to the HTTP API (`promotions local up` on this machine, or a deployed stack)
and print what it answers; with --json, its JSON as it is."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode, urlsplit

import typer
import urllib3
from rich.console import Console
from rich.live import Live

from promotions.release.status import ReleaseStatus
from promotions_local.views import (
    delivery_metrics_table,
    product_table,
    release_graph,
    release_list_table,
    release_notes_table,
)

ApiUrl = Annotated[
    str,
    typer.Option(
        "--api",
        envvar="PROMOTIONS_API",
        help="The API's root URL (the stack's ApiUrl output, or what `local up` prints).",
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="PROMOTIONS_TOKEN",
        help="A bearer token (the local API's, or a JWT); without it, requests are signed with your AWS credentials.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]

release_app = typer.Typer(help="Releases: list, show, retry, terminate.", no_args_is_help=True)
product_app = typer.Typer(help="Products: what runs in each environment.", no_args_is_help=True)
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class ApiClient:
    def __init__(self, api: str, token: str | None) -> None:
        self._root = api.rstrip("/")
        self._token = token
        self._pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5.0, read=60.0), retries=False)

    def call(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None) -> Any:
        """The answer's JSON; a problem answer, or no answer, ends the command with its reason."""
        present = {name: value for name, value in (query or {}).items() if value is not None}
        url = f"{self._root}/api/v1{path}" + (f"?{urlencode(present)}" if present else "")
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        headers |= self._credentials(method, url, payload, headers)
        try:
            response = self._pool.request(method, url, body=payload, headers=headers)
        except urllib3.exceptions.HTTPError as error:
            _fail(f"cannot reach the API at {self._root}: {error}", code=2)
        document = _json_or_none(response.data)
        if response.status >= 400:
            _fail(_problem_text(response.status, document, response.data))
        return document

    def _credentials(
        self, method: str, url: str, payload: bytes | None, headers: dict[str, str]
    ) -> dict[str, str]:
        if self._token:
            return {"Authorization": f"Bearer {self._token}"}
        return _sigv4_headers(method, url, payload, headers)


def _sigv4_headers(method: str, url: str, payload: bytes | None, headers: dict[str, str]) -> dict[str, str]:
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = botocore.session.get_session()
    credentials = session.get_credentials()
    if credentials is None:
        _fail(
            "no credentials: pass --token (or set PROMOTIONS_TOKEN), or configure AWS credentials for SigV4"
        )
    host = urlsplit(url).hostname or ""
    matched = _EXECUTE_API_HOST.search(host)
    region = matched.group(1) if matched else session.get_config_variable("region")
    if not region:
        _fail(f"cannot tell the AWS region of {host}: set AWS_REGION, or pass --token")
    request = AWSRequest(method=method, url=url, data=payload or b"", headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return {name: value for name, value in request.headers.items() if name not in headers}


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _problem_text(status: int, document: Any, raw: bytes) -> str:
    if isinstance(document, dict) and "detail" in document:
        return f"{document.get('title', 'error')} ({status}): {document['detail']}"
    if isinstance(document, dict) and "message" in document:  # API Gateway's own answers
        return f"HTTP {status}: {document['message']}"
    return f"HTTP {status}: {raw[:300].decode(errors='replace')}"


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _print(document: Any, as_json: bool, render) -> None:
    if as_json:
        sys.stdout.write(json.dumps(document) + "\n")
    else:
        Console().print(render(document))


def _post_for_release(
    api: str, token: str | None, path: str, as_json: bool, body: dict | None = None
) -> None:
    """POST to an endpoint that answers with the release it made or changed, and show that release; the options
    left out (None) are not sent, so that the API applies its defaults."""
    present = None if body is None else {name: value for name, value in body.items() if value is not None}
    _print(ApiClient(api, token).call("POST", path, body=present), as_json, release_graph)


@product_app.command("show")
def product_show(
    product: Annotated[str, typer.Argument(help="The product's name.")],
    api: ApiUrl,
    token: Token = None,
    metrics: Annotated[
        bool,
        typer.Option(
            "--metrics",
            help="Also the DORA keys of its prod environments; with --json, only the metrics' JSON.",
        ),
    ] = False,
    days: Annotated[int, typer.Option(min=1, max=365, help="The metrics' period: the last N days.")] = 30,
    as_json: AsJson = False,
) -> None:
    """Per environment: the version running there, its commit, since when, and the release that put it there."""
    client = ApiClient(api, token)
    if not (metrics and as_json):
        _print(client.call("GET", f"/products/{product}"), as_json, product_table)
    if metrics:
        document = client.call("GET", f"/products/{product}/metrics", query={"days": days})
        _print(document, as_json, delivery_metrics_table)


@release_app.command("list")
def release_list(
    api: ApiUrl,
    token: Token = None,
    product: Annotated[str | None, typer.Option(help="Only this product's releases.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only releases in this status (Running, Failed, ...).")
    ] = None,
    flow: Annotated[str | None, typer.Option(help="Only releases of this flow.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only releases created at or after this ISO time (UTC without offset).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Only releases created before this ISO time.")] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Only releases whose version or commit starts so.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many.")] = 20,
    next_page: Annotated[
        str | None, typer.Option("--next", help="The page after the one that printed this.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Releases, newest first."""
    query = {
        "product": product,
        "status": status,
        "flow": flow,
        "since": since,
        "until": until,
        "q": search,
        "limit": limit,
        "next": next_page,
    }
    _print(ApiClient(api, token).call("GET", "/releases", query=query), as_json, release_list_table)


@release_app.command("notes")
def release_notes(
    release_id: Annotated[str, typer.Argument(help="The release's id.")],
    api: ApiUrl,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """The source's commits since the flow's previous release: author, time, subject, issue keys."""
    _print(ApiClient(api, token).call("GET", f"/releases/{release_id}/notes"), as_json, release_notes_table)


@release_app.command("show")
def release_show(
    release_id: Annotated[str, typer.Argument(help="The release's id.")],
    api: ApiUrl,
    token: Token = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Redraw it until it is final, then exit 0 if it Succeeded, 1 if not; with --json, print it then.",
        ),
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.2, help="With --watch: seconds between two readings.")
    ] = 2.0,
    as_json: AsJson = False,
) -> None:
    """A release's flow as a graph: each environment's status, commit, checks, approvals and failure, and who did
    what to the release."""
    client = ApiClient(api, token)
    path = f"/releases/{release_id}"
    release = client.call("GET", path)
    if not watch:
        _print(release, as_json, release_graph)
        return
    if as_json:
        release = _until_final(client, path, release, interval, lambda _: None)
        _print(release, as_json, release_graph)
    else:
        with Live(release_graph(release), auto_refresh=False) as live:
            release = _until_final(
                client, path, release, interval, lambda now: live.update(release_graph(now), refresh=True)
            )
    raise typer.Exit(0 if release["status"] == ReleaseStatus.SUCCEEDED else 1)


def _until_final(
    client: ApiClient, path: str, release: dict, interval: float, on_reading: Callable[[dict], None]
) -> dict:
    """Read the release every `interval` seconds until it is final, handing each reading to `on_reading`."""
    while not ReleaseStatus(release["status"]).is_final:
        time.sleep(interval)
        release = client.call("GET", path)
        on_reading(release)
    return release


@release_app.command("retry")
def retry(
    release_id: Annotated[str, typer.Argument(help="A Failed or Terminated release.")],
    api: ApiUrl,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Run a Failed or Terminated release again; environments that succeeded keep their commits."""
    _post_for_release(api, token, f"/releases/{release_id}/retry", as_json)


@release_app.command("terminate")
def terminate(
    release_id: Annotated[str, typer.Argument(help="A Queued or Running release.")],
    api: ApiUrl,
    token: Token = None,
    reason: Annotated[str | None, typer.Option(help="Why; told to the flow's onFail hooks.")] = None,
    as_json: AsJson = False,
) -> None:
    """Terminate a release: a queued one leaves the queue; a running one stops, never in the middle of a push."""
    _post_for_release(
        api, token, f"/releases/{release_id}/terminate", as_json, {"reason": reason} if reason else None
    )


def rollback(
    product: Annotated[str, typer.Argument(help="The product to roll back.")],
    api: ApiUrl,
    environment: Annotated[str, typer.Option("--environment", help="The environment to roll back.")],
    token: Token = None,
    to_release: Annotated[
        str | None,
        typer.Option(
            "--to-release", help="Restore what this release promoted (default: the one before the current)."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Promote an earlier release's properties back into one environment, through its gates."""
    body = {"environment": environment, **({"toRelease": to_release} if to_release else {})}
    _post_for_release(api, token, f"/products/{product}/rollback", as_json, body)


def trigger(
    product: Annotated[str, typer.Argument(help="The product whose flow runs.")],
    api: ApiUrl,
    token: Token = None,
    flow: Annotated[
        str | None, typer.Option("--flow", help="One of the product's flows; its first if absent.")
    ] = None,
    commit: Annotated[
        str | None,
        typer.Option("--commit", help="A full commit id; the trigger environment's branch tip if absent."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Run a product's flow now, as a push would."""
    _post_for_release(api, token, "/releases", as_json, {"product": product, "flow": flow, "commit": commit})


def promote(
    product: Annotated[str, typer.Argument(help="The product to promote.")],
    api: ApiUrl,
    to: Annotated[str, typer.Option("--to", help="The environment to promote.")],
    token: Token = None,
    from_release: Annotated[
        str | None, typer.Option("--from-release", help="Promote what this earlier release promoted.")
    ] = None,
    from_environment: Annotated[
        str | None,
        typer.Option(
            "--from-environment",
            help="Promote this environment's current commit (default: the step's first dependency).",
        ),
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="commit, pr or none, instead of the environment's policy.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Promote one environment through its gates, as a release of its own."""
    body = {
        "product": product,
        "environment": to,
        "fromRelease": from_release,
        "fromEnvironment": from_environment,
        "action": action,
    }
    _post_for_release(api, token, "/promotions", as_json, body)


def approve(
    release_id: Annotated[str, typer.Argument(help="The release whose environment waits for an approval.")],
    environment: Annotated[str, typer.Argument(help="The environment that waits.")],
    api: ApiUrl,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Approve an environment's waiting approval as yourself (listed among its approvers by your identity)."""
    _post_for_release(api, token, f"/releases/{release_id}/environments/{environment}/approve", as_json)


def reject(
    release_id: Annotated[str, typer.Argument(help="The release whose environment waits for an approval.")],
    environment: Annotated[str, typer.Argument(help="The environment that waits.")],
    api: ApiUrl,
    reason: Annotated[str, typer.Option("--reason", help="Why; the environment fails with it.")],
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Reject an environment's waiting approval as yourself: the environment fails, naming you and why."""
    _post_for_release(
        api, token, f"/releases/{release_id}/environments/{environment}/reject", as_json, {"reason": reason}
    )
