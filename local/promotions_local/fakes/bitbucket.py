"""A fake Bitbucket Cloud: the pullrequests, commit and commit status endpoints of the REST API 2.0."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from .server import Answer, FakeApi, RecordedRequest, Route, is_full_sha, random_sha, timestamp_now

_BBQL_TERM = re.compile(r'^\s*(?P<field>[\w.]+)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*$')
_BITBUCKET_FILTERABLE = {
    "source.branch.name": lambda pull: pull["source"]["branch"]["name"],
    "destination.branch.name": lambda pull: pull["destination"]["branch"]["name"],
    "state": lambda pull: pull["state"],
}
_BITBUCKET_SHORT_HASH = 12
_STATUS_STATES = ("INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED")
_REQUIRED = ["This field is required."]


class FakeBitbucket(FakeApi):
    """Bitbucket Cloud's pullrequests endpoints (create, get, list with `state` and a `q` filter of `=` terms
    joined by AND) and the commit endpoint, under /2.0. Tokens go as Bearer, or as Basic `user:secret` when
    the token itself has that form. Pull requests carry 12-character hashes, as Bitbucket's do. Commit (build)
    statuses: set one (its key replaces any status of that key) and list a commit's, page by page with `next`;
    `report_status` acts as CI."""

    def __init__(self, *, token: str, repositories: Iterable[str], path_prefix: str = "/2.0") -> None:
        super().__init__(token, path_prefix)
        self._pulls: dict[str, list[dict[str, Any]]] = {name: [] for name in repositories}
        self._commits: dict[str, set[str]] = {name: set() for name in self._pulls}
        # (repository, sha) -> key -> status
        self._statuses: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def merge(self, repository: str, pull_id: int, merge_commit_sha: str | None = None) -> str:
        """Merge as a reviewer would; returns the full merge commit hash."""
        sha = merge_commit_sha or random_sha()
        with self._lock:
            self._commits[repository].add(sha)
            merge_commit = {
                "hash": sha[:_BITBUCKET_SHORT_HASH],
                "type": "commit",
                "links": self._commit_links(repository, sha),
            }
            self._pull(repository, pull_id).update(
                state="MERGED", merge_commit=merge_commit, updated_on=timestamp_now()
            )
        return sha

    def decline(self, repository: str, pull_id: int) -> None:
        with self._lock:
            self._pull(repository, pull_id).update(state="DECLINED", updated_on=timestamp_now())

    def report_status(
        self, repository: str, sha: str, key: str, state: str, description: str | None = None
    ) -> None:
        """A build status as CI sets it."""
        with self._lock:
            self._put_status(repository, sha, {"key": key, "state": state, "description": description})

    def _pull(self, repository: str, pull_id: int) -> dict[str, Any]:
        return next(pull for pull in self._pulls[repository] if pull["id"] == pull_id)

    def _routes(self) -> list[Route]:
        repo = r"/repositories/(?P<workspace>[^/]+)/(?P<slug>[^/]+)"
        return [
            self._route("POST", f"{repo}/pullrequests", self._create),
            self._route("GET", f"{repo}/pullrequests", self._list),
            self._route("GET", rf"{repo}/pullrequests/(?P<id>\d+)", self._get),
            self._route("GET", rf"{repo}/commit/(?P<hash>[0-9a-f]+)", self._commit),
            self._route("POST", f"{repo}/commit/(?P<hash>[^/]+)/statuses/build", self._set_status),
            self._route("GET", f"{repo}/commit/(?P<hash>[^/]+)/statuses", self._list_statuses),
        ]

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(credentials, validate=True).decode() == self._token
            except (binascii.Error, UnicodeDecodeError):
                return False
        return scheme.lower() == "bearer" and credentials == self._token

    def _unauthorized(self) -> Answer:
        return _bitbucket_error(401, "Token is invalid, expired, or not supported for this endpoint.")

    def _not_found(self, path: str) -> Answer:
        return _bitbucket_error(404, f"Resource not found: {path}")

    def _repository(self, captured: dict[str, str]) -> str | None:
        full_name = f"{captured['workspace']}/{captured['slug']}"
        return full_name if full_name in self._pulls else None

    def _create(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
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
        return Answer(201, pull)

    def _get(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        repository = self._repository(captured)
        pull_id = int(captured["id"])
        found = [pull for pull in self._pulls.get(repository or "", []) if pull["id"] == pull_id]
        if not found:
            return _bitbucket_error(404, f"Pull request {pull_id} not found")
        return Answer(200, found[0])

    def _list(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
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
        return Answer(200, {"pagelen": 10, "size": len(selected), "page": 1, "values": selected})

    def _commit(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        repository = self._repository(captured)
        matches = [
            sha for sha in self._commits.get(repository or "", set()) if sha.startswith(captured["hash"])
        ]
        if len(matches) != 1:
            return _bitbucket_error(404, f"Commit not found: {captured['hash']}")
        return Answer(
            200, {"type": "commit", "hash": matches[0], "links": self._commit_links(repository, matches[0])}
        )

    def _set_status(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        repository = self._repository(captured)
        if repository is None:
            return _bitbucket_error(404, f"Repository {captured['workspace']}/{captured['slug']} not found")
        if not is_full_sha(captured["hash"]):
            return _bitbucket_error(404, f"Commit not found: {captured['hash']}")
        body = request.body if isinstance(request.body, dict) else {}
        fields = {name: _REQUIRED for name in ("key", "state", "url") if not body.get(name)}
        if body.get("state") and body["state"] not in _STATUS_STATES:
            fields["state"] = [f'"{body["state"]}" is not a valid choice.']
        if fields:
            return _bitbucket_error(
                400, f"{next(iter(fields))}: {fields[next(iter(fields))][0]}", fields=fields
            )
        status = {name: body.get(name) for name in ("key", "state", "name", "description", "url")}
        return Answer(201, self._put_status(repository, captured["hash"], status))

    def _put_status(self, repository: str, sha: str, fields: dict[str, Any]) -> dict[str, Any]:
        statuses = self._statuses.setdefault((repository, sha), {})
        now = timestamp_now()
        previous = statuses.get(fields["key"])
        status = {
            "type": "build",
            "uuid": previous["uuid"] if previous else f"{{{uuid.uuid4()}}}",
            "refname": None,
            "name": None,
            "url": None,
            **fields,
            "created_on": previous["created_on"] if previous else now,
            "updated_on": now,
            "links": {
                "self": {
                    "href": f"{self.api_url}/repositories/{repository}/commit/{sha}/statuses/build/{fields['key']}"
                },
                "commit": {"href": f"{self.api_url}/repositories/{repository}/commit/{sha}"},
            },
        }
        statuses[fields["key"]] = status
        return status

    def _list_statuses(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        repository = self._repository(captured)
        if repository is None:
            return _bitbucket_error(404, f"Repository {captured['workspace']}/{captured['slug']} not found")
        if not is_full_sha(captured["hash"]):
            return _bitbucket_error(404, f"Commit not found: {captured['hash']}")
        statuses = list(self._statuses.get((repository, captured["hash"]), {}).values())
        page = self._page(request, statuses, size_param="pagelen", default_size=10)
        body = {"pagelen": page.size, "size": len(statuses), "page": page.number, "values": page.items}
        return Answer(200, body | ({"next": page.next_url} if page.next_url else {}))

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
            sha = random_sha()
            commit = {
                "hash": sha[:_BITBUCKET_SHORT_HASH],
                "type": "commit",
                "links": self._commit_links(repository, sha),
            }
            return {"branch": {"name": branch}, "commit": commit, "repository": repository_link}

        now = timestamp_now()
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


def _bitbucket_error(status: int, message: str, *, fields: Mapping[str, Any] | None = None) -> Answer:
    error: dict[str, Any] = {"message": message}
    if fields:
        error["fields"] = dict(fields)
    return Answer(status, {"type": "error", "error": error})
