"""Fake Argo CD, GitHub, GitLab and Bitbucket Cloud APIs on 127.0.0.1, for the tests and the local demo.

Each fake is a context manager around a ThreadingHTTPServer on an ephemeral port. It answers only with the
JSON shapes, status codes and error bodies of the real API for the endpoints the engine calls, checks the
token the way the real one expects it, records every request, and can fail the next requests with a 5xx.
Objects are built from real examples: `FakeArgoCd` and `FakeGitHub` take a recorded Application / pull request
object as their shape (the shared fixtures argocd-application.json and github-pull-request-closed-merged.json)
and override only the fields that change; GitLab and Bitbucket objects carry the fields of their documented
REST answers.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import re
import secrets
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ConfigDict

from promotions_local.loopback import LoopbackServer


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: `path` keeps its percent-encoding, `headers` are lower-cased, `body` is parsed
    JSON (or the text when it is not JSON)."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: Any

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    respond: Callable[[dict[str, str], RecordedRequest], _Answer]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _new_sha() -> str:
    return secrets.token_hex(20)


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
    return credentials if scheme.lower() == "bearer" else None


class _FakeApi(LoopbackServer, ABC):
    """Server, request log and failure injection, shared by every fake; subclasses declare the routes."""

    def __init__(self, token: str, path_prefix: str) -> None:
        self._token = token
        self._path_prefix = path_prefix.rstrip("/")
        self._lock = threading.RLock()
        self._requests: list[RecordedRequest] = []
        self._failures: deque[_Answer] = deque()
        super().__init__()

    @abstractmethod
    def _routes(self) -> list[_Route]: ...

    @abstractmethod
    def _authorized(self, headers: Mapping[str, str]) -> bool: ...

    @abstractmethod
    def _unauthorized(self) -> _Answer: ...

    @abstractmethod
    def _not_found(self, path: str) -> _Answer: ...

    def _handler(self) -> Callable[..., BaseHTTPRequestHandler]:
        return functools.partial(_Handler, self)

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def api_url(self) -> str:
        """The base URL a client is configured with (the server URL plus the API's path prefix)."""
        return f"{self.url}{self._path_prefix}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def fail_next(self, status: int = 503, times: int = 1, headers: Mapping[str, str] | None = None) -> None:
        """Answer the next `times` requests with `status` (and `headers`), whatever they ask."""
        failure = _Answer(status, {"message": "injected failure"}, dict(headers or {}))
        with self._lock:
            self._failures.extend([failure] * times)

    def _answer(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[_Answer, bytes]:
        """The answer and its JSON, serialised under the lock: a concurrent merge is never seen half done."""
        parts = urlsplit(raw_path)
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = body.decode(errors="replace")
        request = RecordedRequest(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in headers.items()},
            body=document,
        )
        with self._lock:
            self._requests.append(request)
            answer = self._dispatch(request)
            return answer, json.dumps(answer.body).encode()

    def _dispatch(self, request: RecordedRequest) -> _Answer:
        if self._failures:
            return self._failures.popleft()
        if not self._authorized(request.headers):
            return self._unauthorized()
        for route in self._routes():
            match = route.pattern.match(request.path)
            if match and route.method == request.method:
                captured = {name: unquote(value) for name, value in match.groupdict().items()}
                return route.respond(captured, request)
        return self._not_found(request.path)

    def _route(
        self, method: str, pattern: str, respond: Callable[[dict[str, str], RecordedRequest], _Answer]
    ) -> _Route:
        return _Route(method, re.compile(f"^{re.escape(self._path_prefix)}{pattern}$"), respond)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A body larger than one segment otherwise waits for the client's delayed ACK: 40 ms a request.
    disable_nagle_algorithm = True

    def __init__(self, fake: _FakeApi, *args: Any) -> None:
        self._fake = fake
        super().__init__(*args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer, payload = self._fake._answer(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --- Argo CD ---------------------------------------------------------------------------------------------


class ArgoAppState(BaseModel):
    """One observed state of an application.

    One revision makes a single-source application (status.sync.revision), several a multi-source one
    (status.sync.revisions). No operation phase means no sync has run yet.
    """

    model_config = ConfigDict(frozen=True)

    sync_status: str = "Synced"
    health_status: str = "Healthy"
    revisions: tuple[str, ...]
    operation_phase: str | None = "Succeeded"
    operation_message: str = "successfully synced (all tasks run)"
    health_message: str | None = None
    conditions: tuple[tuple[str, str], ...] = ()


class FakeArgoCd(_FakeApi):
    """GET /api/v1/applications/{name}[?appNamespace=], bearer token, Argo CD's gRPC-gateway error bodies.

    `set_application` scripts the states one application goes through: each read answers the next state and
    the last one stays, as an application does once it has settled.
    """

    CONTROL_PLANE_NAMESPACE = "argocd"

    def __init__(self, *, token: str, application_shape: Mapping[str, Any]) -> None:
        super().__init__(token, "")
        self._shape = copy.deepcopy(dict(application_shape))
        self._scripts: dict[tuple[str, str], deque[ArgoAppState]] = {}
        self._live: dict[tuple[str, str], Callable[[], ArgoAppState]] = {}

    def follow(
        self, name: str, observe: Callable[[], ArgoAppState], *, namespace: str = CONTROL_PLANE_NAMESPACE
    ) -> None:
        """Answer with a state computed at each read, as an auto-syncing Argo CD tracks its branch."""
        with self._lock:
            self._live[(namespace, name)] = observe

    def set_application(
        self, name: str, *states: ArgoAppState, namespace: str = CONTROL_PLANE_NAMESPACE
    ) -> None:
        if not states:
            raise ValueError(f"set_application({name!r}): give at least one state")
        with self._lock:
            self._scripts[(namespace, name)] = deque(states)

    def _routes(self) -> list[_Route]:
        return [self._route("GET", r"/api/v1/applications/(?P<name>[^/]+)", self._get_application)]

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        return _bearer(headers) == self._token

    def _unauthorized(self) -> _Answer:
        return _argocd_error(401, 16, "invalid session: token signature is invalid")

    def _not_found(self, path: str) -> _Answer:
        return _argocd_error(404, 5, f"Not Found: {path}")

    def _get_application(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        name = captured["name"]
        namespace = request.param("appNamespace") or self.CONTROL_PLANE_NAMESPACE
        live = self._live.get((namespace, name))
        if live is not None:
            return _Answer(200, self._render(name, namespace, live()))
        script = self._scripts.get((namespace, name))
        if script is None:
            return _argocd_error(404, 5, f'applications.argoproj.io "{name}" not found')
        state = script.popleft() if len(script) > 1 else script[0]
        return _Answer(200, self._render(name, namespace, state))

    def _render(self, name: str, namespace: str, state: ArgoAppState) -> dict[str, Any]:
        application = copy.deepcopy(self._shape)
        application["metadata"].update(name=name, namespace=namespace)
        status = application["status"]
        status["reconciledAt"] = _now()
        _set_revisions(status["sync"], state.revisions)
        status["sync"]["status"] = state.sync_status
        status["health"] = {"status": state.health_status}
        if state.health_message:
            status["health"]["message"] = state.health_message
        if len(state.revisions) > 1:
            application["spec"]["sources"] = [application["spec"].pop("source")] * len(state.revisions)
        if state.operation_phase is None:
            status.pop("operationState", None)
        else:
            operation = status["operationState"]
            operation.update(phase=state.operation_phase, message=state.operation_message, finishedAt=_now())
            _set_revisions(operation["operation"]["sync"], state.revisions)
            _set_revisions(operation.setdefault("syncResult", {}), state.revisions)
        if state.conditions:
            status["conditions"] = [
                {"type": kind, "message": message, "lastTransitionTime": _now()}
                for kind, message in state.conditions
            ]
        else:
            status.pop("conditions", None)
        return application


def _set_revisions(holder: dict[str, Any], revisions: tuple[str, ...]) -> None:
    holder.pop("revision", None)
    holder.pop("revisions", None)
    if len(revisions) == 1:
        holder["revision"] = revisions[0]
    elif revisions:
        holder["revisions"] = list(revisions)


def _argocd_error(status: int, code: int, message: str) -> _Answer:
    return _Answer(status, {"error": message, "code": code, "message": message})


# --- GitHub ----------------------------------------------------------------------------------------------

# Fields of the full pull request object that the list endpoint's "pull-request-simple" items do not have.
_GITHUB_DETAIL_ONLY = (
    "merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments", "review_comments",
    "maintainer_can_modify", "commits", "additions", "deletions", "changed_files",
)  # fmt: skip
_GITHUB_DOCS = "https://docs.github.com/rest/pulls/pulls"


class FakeGitHub(_FakeApi):
    """The pulls endpoints of the GitHub REST API (create, get, list) under `path_prefix` (/api/v3 for GitHub
    Enterprise Server). Tokens go as `Authorization: Bearer` or `token`; `merge` and `close` act as reviewer.
    """

    def __init__(
        self,
        *,
        token: str,
        pull_request_shape: Mapping[str, Any],
        repositories: Iterable[str],
        path_prefix: str = "",
    ) -> None:
        super().__init__(token, path_prefix)
        self._shape = copy.deepcopy(dict(pull_request_shape))
        self._pulls: dict[str, list[dict[str, Any]]] = {name: [] for name in repositories}

    def merge(self, repository: str, number: int, merge_commit_sha: str | None = None) -> str:
        """Merge as a reviewer would; returns the merge commit."""
        sha = merge_commit_sha or _new_sha()
        with self._lock:
            pull = self._pull(repository, number)
            now = _now()
            pull.update(state="closed", merged=True, merged_at=now, closed_at=now, updated_at=now)
            pull.update(merge_commit_sha=sha, mergeable_state="unknown")
        return sha

    def close(self, repository: str, number: int) -> None:
        with self._lock:
            now = _now()
            self._pull(repository, number).update(state="closed", closed_at=now, updated_at=now)

    def _pull(self, repository: str, number: int) -> dict[str, Any]:
        return next(pull for pull in self._pulls[repository] if pull["number"] == number)

    def _routes(self) -> list[_Route]:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        return [
            self._route("POST", f"{repo}/pulls", self._create),
            self._route("GET", f"{repo}/pulls", self._list),
            self._route("GET", rf"{repo}/pulls/(?P<number>\d+)", self._get),
        ]

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
        return scheme.lower() in ("bearer", "token") and credentials == self._token

    def _unauthorized(self) -> _Answer:
        return _Answer(
            401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        )

    def _not_found(self, path: str) -> _Answer:
        return _Answer(404, {"message": "Not Found", "documentation_url": _GITHUB_DOCS, "status": "404"})

    def _create(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        full_name = f"{captured['owner']}/{captured['repo']}"
        if full_name not in self._pulls:
            return self._not_found(request.path)
        body = request.body if isinstance(request.body, dict) else {}
        missing = [field for field in ("head", "base") if not body.get(field)]
        if missing:
            errors = [
                {"resource": "PullRequest", "field": field, "code": "missing_field"} for field in missing
            ]
            return _github_invalid(errors)
        head_branch = body["head"].partition(":")[2] or body["head"]
        branches = (head_branch, body["base"])
        if any(
            pull["state"] == "open" and (pull["head"]["ref"], pull["base"]["ref"]) == branches
            for pull in self._pulls[full_name]
        ):
            message = f"A pull request already exists for {captured['owner']}:{head_branch}."
            return _github_invalid([{"resource": "PullRequest", "code": "custom", "message": message}])
        pull = self._new_pull(full_name, len(self._pulls[full_name]) + 1, body, head_branch)
        self._pulls[full_name].append(pull)
        return _Answer(201, pull)

    def _get(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        full_name = f"{captured['owner']}/{captured['repo']}"
        number = int(captured["number"])
        pulls = [pull for pull in self._pulls.get(full_name, []) if pull["number"] == number]
        return _Answer(200, pulls[0]) if pulls else self._not_found(request.path)

    def _list(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        full_name = f"{captured['owner']}/{captured['repo']}"
        if full_name not in self._pulls:
            return self._not_found(request.path)
        state = request.param("state") or "open"
        head, base = request.param("head"), request.param("base")
        selected = [
            {key: value for key, value in pull.items() if key not in _GITHUB_DETAIL_ONLY}
            for pull in self._pulls[full_name]
            if state in ("all", pull["state"])
            and (head is None or head == pull["head"]["label"])
            and (base is None or base == pull["base"]["ref"])
        ]
        return _Answer(200, selected)

    def _new_pull(
        self, full_name: str, number: int, body: dict[str, Any], head_branch: str
    ) -> dict[str, Any]:
        owner, name = full_name.split("/")
        api = f"{self.api_url}/repos/{full_name}"
        html = f"{self.url}/{full_name}/pull/{number}"
        pull = copy.deepcopy(self._shape)
        repository = pull["base"]["repo"]
        repository.update(name=name, full_name=full_name, html_url=f"{self.url}/{full_name}")
        repository.update(clone_url=f"{self.url}/{full_name}.git", url=api)
        repository["owner"]["login"] = owner
        head_sha, now = _new_sha(), _now()
        pull["head"].update(ref=head_branch, label=f"{owner}:{head_branch}", sha=head_sha, repo=repository)
        pull["base"].update(ref=body["base"], label=f"{owner}:{body['base']}", sha=_new_sha())
        pull.update(
            number=number,
            id=secrets.randbelow(10**9),
            url=f"{api}/pulls/{number}",
            html_url=html,
            diff_url=f"{html}.diff",
            patch_url=f"{html}.patch",
            state="open",
            title=body.get("title", ""),
            body=body.get("body"),
            created_at=now,
            updated_at=now,
            closed_at=None,
            merged_at=None,
            merged=False,
            merged_by=None,
            # GitHub fills this with a test merge commit while the pull request is open.
            merge_commit_sha=_new_sha(),
            mergeable_state="clean",
            statuses_url=f"{api}/statuses/{head_sha}",
        )
        return pull


def _github_invalid(errors: list[dict[str, str]]) -> _Answer:
    body = {
        "message": "Validation Failed",
        "errors": errors,
        "documentation_url": _GITHUB_DOCS,
        "status": "422",
    }
    return _Answer(422, body)


# --- GitLab ----------------------------------------------------------------------------------------------


class FakeGitLab(_FakeApi):
    """The merge request endpoints of GitLab's REST API v4 (create, get, list) under /api/v4, projects
    addressed by URL-encoded full path or numeric id. Tokens go as `PRIVATE-TOKEN` or `Authorization: Bearer`.
    """

    def __init__(self, *, token: str, projects: Iterable[str], path_prefix: str = "/api/v4") -> None:
        super().__init__(token, path_prefix)
        self._project_ids = {path: index for index, path in enumerate(projects, start=1)}
        self._merge_requests: dict[str, list[dict[str, Any]]] = {path: [] for path in self._project_ids}

    def merge(
        self, project: str, iid: int, method: Literal["merge", "squash", "fast_forward"] = "merge"
    ) -> str:
        """Merge as a reviewer would, by the given merge method; returns the commit the target branch got."""
        with self._lock:
            merge_request = self._merge_request(project, iid)
            merge_commit = _new_sha() if method == "merge" else None
            squash_commit = _new_sha() if method == "squash" else None
            now = _now()
            merge_request.update(state="merged", merged_at=now, updated_at=now, squash=method == "squash")
            merge_request.update(merge_commit_sha=merge_commit, squash_commit_sha=squash_commit)
            return merge_commit or squash_commit or merge_request["sha"]

    def close(self, project: str, iid: int) -> None:
        with self._lock:
            now = _now()
            self._merge_request(project, iid).update(state="closed", closed_at=now, updated_at=now)

    def _merge_request(self, project: str, iid: int) -> dict[str, Any]:
        return next(mr for mr in self._merge_requests[project] if mr["iid"] == iid)

    def _routes(self) -> list[_Route]:
        project = r"/projects/(?P<project>[^/]+)"
        return [
            self._route("POST", f"{project}/merge_requests", self._create),
            self._route("GET", f"{project}/merge_requests", self._list),
            self._route("GET", rf"{project}/merge_requests/(?P<iid>\d+)", self._get),
        ]

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        return self._token in (headers.get("private-token"), _bearer(headers))

    def _unauthorized(self) -> _Answer:
        return _Answer(401, {"message": "401 Unauthorized"})

    def _not_found(self, path: str) -> _Answer:
        return _Answer(404, {"message": "404 Not found"})

    def _project(self, reference: str) -> str | None:
        if reference.isdigit():
            return next((path for path, id_ in self._project_ids.items() if id_ == int(reference)), None)
        return reference if reference in self._project_ids else None

    def _create(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        project = self._project(captured["project"])
        if project is None:
            return _Answer(404, {"message": "404 Project Not Found"})
        body = request.body if isinstance(request.body, dict) else {}
        missing = [field for field in ("source_branch", "target_branch", "title") if not body.get(field)]
        if missing:
            return _Answer(400, {"error": ", ".join(f"{field} is missing" for field in missing)})
        branches = (body["source_branch"], body["target_branch"])
        for existing in self._merge_requests[project]:
            if (
                existing["state"] == "opened"
                and (existing["source_branch"], existing["target_branch"]) == branches
            ):
                message = (
                    f"Another open merge request already exists for this source branch: !{existing['iid']}"
                )
                return _Answer(409, {"message": [message]})
        merge_request = self._new_merge_request(project, len(self._merge_requests[project]) + 1, body)
        self._merge_requests[project].append(merge_request)
        return _Answer(201, merge_request)

    def _get(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        project = self._project(captured["project"])
        if project is None:
            return _Answer(404, {"message": "404 Project Not Found"})
        iid = int(captured["iid"])
        found = [mr for mr in self._merge_requests[project] if mr["iid"] == iid]
        return _Answer(200, found[0]) if found else self._not_found(request.path)

    def _list(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        project = self._project(captured["project"])
        if project is None:
            return _Answer(404, {"message": "404 Project Not Found"})
        filters = {name: request.param(name) for name in ("state", "source_branch", "target_branch")}
        selected = [
            mr
            for mr in self._merge_requests[project]
            if all(value in (None, "all", mr[name]) for name, value in filters.items())
        ]
        return _Answer(200, selected)

    def _new_merge_request(self, project: str, iid: int, body: dict[str, Any]) -> dict[str, Any]:
        project_id, now = self._project_ids[project], _now()
        return {
            "id": secrets.randbelow(10**9),
            "iid": iid,
            "project_id": project_id,
            "title": body["title"],
            "description": body.get("description"),
            "state": "opened",
            "created_at": now,
            "updated_at": now,
            "merged_at": None,
            "closed_at": None,
            "target_branch": body["target_branch"],
            "source_branch": body["source_branch"],
            "source_project_id": project_id,
            "target_project_id": project_id,
            "draft": False,
            "work_in_progress": False,
            "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "mergeable",
            "sha": _new_sha(),
            "merge_commit_sha": None,
            "squash_commit_sha": None,
            "squash": False,
            "should_remove_source_branch": None,
            "force_remove_source_branch": False,
            "references": {"short": f"!{iid}", "relative": f"!{iid}", "full": f"{project}!{iid}"},
            "web_url": f"{self.url}/{project}/-/merge_requests/{iid}",
        }


# --- Bitbucket Cloud -------------------------------------------------------------------------------------

_BBQL_TERM = re.compile(r'^\s*(?P<field>[\w.]+)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*$')
_BITBUCKET_FILTERABLE = {
    "source.branch.name": lambda pull: pull["source"]["branch"]["name"],
    "destination.branch.name": lambda pull: pull["destination"]["branch"]["name"],
    "state": lambda pull: pull["state"],
}
_BITBUCKET_SHORT_HASH = 12


class FakeBitbucket(_FakeApi):
    """Bitbucket Cloud's pullrequests endpoints (create, get, list with `state` and a `q` filter of `=` terms
    joined by AND) and the commit endpoint, under /2.0. Tokens go as Bearer, or as Basic `user:secret` when
    the token itself has that form. Pull requests carry 12-character hashes, as Bitbucket's do."""

    def __init__(self, *, token: str, repositories: Iterable[str], path_prefix: str = "/2.0") -> None:
        super().__init__(token, path_prefix)
        self._pulls: dict[str, list[dict[str, Any]]] = {name: [] for name in repositories}
        self._commits: dict[str, set[str]] = {name: set() for name in self._pulls}

    def merge(self, repository: str, pull_id: int, merge_commit_sha: str | None = None) -> str:
        """Merge as a reviewer would; returns the full merge commit hash."""
        sha = merge_commit_sha or _new_sha()
        with self._lock:
            self._commits[repository].add(sha)
            merge_commit = {
                "hash": sha[:_BITBUCKET_SHORT_HASH],
                "type": "commit",
                "links": self._commit_links(repository, sha),
            }
            self._pull(repository, pull_id).update(
                state="MERGED", merge_commit=merge_commit, updated_on=_now()
            )
        return sha

    def decline(self, repository: str, pull_id: int) -> None:
        with self._lock:
            self._pull(repository, pull_id).update(state="DECLINED", updated_on=_now())

    def _pull(self, repository: str, pull_id: int) -> dict[str, Any]:
        return next(pull for pull in self._pulls[repository] if pull["id"] == pull_id)

    def _routes(self) -> list[_Route]:
        repo = r"/repositories/(?P<workspace>[^/]+)/(?P<slug>[^/]+)"
        return [
            self._route("POST", f"{repo}/pullrequests", self._create),
            self._route("GET", f"{repo}/pullrequests", self._list),
            self._route("GET", rf"{repo}/pullrequests/(?P<id>\d+)", self._get),
            self._route("GET", rf"{repo}/commit/(?P<hash>[0-9a-f]+)", self._commit),
        ]

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(credentials, validate=True).decode() == self._token
            except (binascii.Error, UnicodeDecodeError):
                return False
        return scheme.lower() == "bearer" and credentials == self._token

    def _unauthorized(self) -> _Answer:
        return _bitbucket_error(401, "Token is invalid, expired, or not supported for this endpoint.")

    def _not_found(self, path: str) -> _Answer:
        return _bitbucket_error(404, f"Resource not found: {path}")

    def _repository(self, captured: dict[str, str]) -> str | None:
        full_name = f"{captured['workspace']}/{captured['slug']}"
        return full_name if full_name in self._pulls else None

    def _create(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        repository = self._repository(captured)
        if repository is None:
            return _bitbucket_error(404, f"Repository {captured['workspace']}/{captured['slug']} not found")
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("title"):
            return _bitbucket_error(
                400, "title: This field is required.", fields={"title": ["This field is required."]}
            )
        source = (body.get("source") or {}).get("branch", {}).get("name")
        destination = (body.get("destination") or {}).get("branch", {}).get("name") or "main"
        if not source:
            return _bitbucket_error(
                400, "source: This field is required.", fields={"source": ["This field is required."]}
            )
        pull = self._new_pull(repository, len(self._pulls[repository]) + 1, body, source, destination)
        self._pulls[repository].append(pull)
        return _Answer(201, pull)

    def _get(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        repository = self._repository(captured)
        pull_id = int(captured["id"])
        found = [pull for pull in self._pulls.get(repository or "", []) if pull["id"] == pull_id]
        if not found:
            return _bitbucket_error(404, f"Pull request {pull_id} not found")
        return _Answer(200, found[0])

    def _list(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        repository = self._repository(captured)
        if repository is None:
            return _bitbucket_error(404, f"Repository {captured['workspace']}/{captured['slug']} not found")
        terms: dict[str, str] = {"state": request.param("state") or "OPEN"}
        for clause in filter(None, re.split(r"\s+AND\s+", request.param("q") or "")):
            term = _BBQL_TERM.match(clause)
            if term is None or term["field"] not in _BITBUCKET_FILTERABLE:
                return _bitbucket_error(400, f"Invalid query: {clause!r} is not supported here")
            terms[term["field"]] = re.sub(r"\\(.)", r"\1", term["value"])
        selected = [
            pull
            for pull in self._pulls[repository]
            if all(_BITBUCKET_FILTERABLE[field](pull) == value for field, value in terms.items())
        ]
        return _Answer(200, {"pagelen": 10, "size": len(selected), "page": 1, "values": selected})

    def _commit(self, captured: dict[str, str], request: RecordedRequest) -> _Answer:
        repository = self._repository(captured)
        matches = [
            sha for sha in self._commits.get(repository or "", set()) if sha.startswith(captured["hash"])
        ]
        if len(matches) != 1:
            return _bitbucket_error(404, f"Commit not found: {captured['hash']}")
        return _Answer(
            200, {"type": "commit", "hash": matches[0], "links": self._commit_links(repository, matches[0])}
        )

    def _commit_links(self, repository: str | None, sha: str) -> dict[str, Any]:
        return {
            "self": {"href": f"{self.api_url}/repositories/{repository}/commit/{sha}"},
            "html": {"href": f"{self.url}/{repository}/commits/{sha}"},
        }

    def _new_pull(
        self, repository: str, pull_id: int, body: dict[str, Any], source: str, destination: str
    ) -> dict[str, Any]:
        api = f"{self.api_url}/repositories/{repository}/pullrequests/{pull_id}"
        repository_link = {
            "type": "repository",
            "full_name": repository,
            "name": repository.split("/")[1],
            "links": {"html": {"href": f"{self.url}/{repository}"}},
        }

        def endpoint(branch: str) -> dict[str, Any]:
            sha = _new_sha()
            commit = {
                "hash": sha[:_BITBUCKET_SHORT_HASH],
                "type": "commit",
                "links": self._commit_links(repository, sha),
            }
            return {"branch": {"name": branch}, "commit": commit, "repository": repository_link}

        now = _now()
        return {
            "type": "pullrequest",
            "id": pull_id,
            "title": body["title"],
            "description": body.get("description", ""),
            "state": "OPEN",
            "source": endpoint(source),
            "destination": endpoint(destination),
            "merge_commit": None,
            "close_source_branch": bool(body.get("close_source_branch", False)),
            "closed_by": None,
            "reason": "",
            "comment_count": 0,
            "task_count": 0,
            "created_on": now,
            "updated_on": now,
            "links": {
                "self": {"href": api},
                "html": {"href": f"{self.url}/{repository}/pull-requests/{pull_id}"},
                "merge": {"href": f"{api}/merge"},
                "decline": {"href": f"{api}/decline"},
            },
        }


def _bitbucket_error(status: int, message: str, *, fields: Mapping[str, Any] | None = None) -> _Answer:
    error: dict[str, Any] = {"message": message}
    if fields:
        error["fields"] = dict(fields)
    return _Answer(status, {"type": "error", "error": error})
