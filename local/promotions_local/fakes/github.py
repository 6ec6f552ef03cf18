"""A fake GitHub: the pulls, commit statuses and check runs endpoints of the REST API."""

from __future__ import annotations

import copy
import itertools
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from .server import (
    Answer,
    FakeApi,
    RecordedRequest,
    Route,
    is_full_sha,
    link_header,
    random_sha,
    timestamp_now,
)

# Fields of the full pull request object that the list endpoint's "pull-request-simple" items do not have.
_GITHUB_DETAIL_ONLY = (
    "merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments", "review_comments",
    "maintainer_can_modify", "commits", "additions", "deletions", "changed_files",
)  # fmt: skip
_GITHUB_DOCS = "https://docs.github.com/rest/pulls/pulls"
_STATUSES_DOCS = "https://docs.github.com/rest/commits/statuses"
_STATUS_STATES = ("error", "failure", "pending", "success")
_STATUS_DESCRIPTION_LIMIT = 140


class FakeGitHub(FakeApi):
    """The pulls endpoints of the GitHub REST API (create, get, list), commit statuses (create, the combined
    status of a ref) and check runs of a ref, under `path_prefix` (/api/v3 for GitHub Enterprise Server). Tokens
    go as `Authorization: Bearer` or `token`; `merge` and `close` act as reviewer, `report_status` and
    `report_check_run` as CI. Status and check run objects carry the fields of the documented answers.
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
        # (repository, sha) -> every status or check run reported, oldest first
        self._statuses: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._check_runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._check_run_ids = itertools.count(4_000_000_001)

    def merge(self, repository: str, number: int, merge_commit_sha: str | None = None) -> str:
        """Merge as a reviewer would; returns the merge commit."""
        sha = merge_commit_sha or random_sha()
        with self._lock:
            pull = self._pull(repository, number)
            now = timestamp_now()
            pull.update(state="closed", merged=True, merged_at=now, closed_at=now, updated_at=now)
            pull.update(merge_commit_sha=sha, mergeable_state="unknown")
        return sha

    def close(self, repository: str, number: int) -> None:
        with self._lock:
            now = timestamp_now()
            self._pull(repository, number).update(state="closed", closed_at=now, updated_at=now)

    def report_status(
        self, repository: str, sha: str, context: str, state: str, description: str | None = None
    ) -> None:
        """A status as CI would create it."""
        with self._lock:
            self._add_status(
                repository, sha, {"context": context, "state": state, "description": description}
            )

    def report_check_run(
        self, repository: str, sha: str, name: str, status: str, conclusion: str | None = None
    ) -> None:
        """A check run as a GitHub App would create it: a new run of `name`, the latest."""
        with self._lock:
            runs = self._check_runs.setdefault((repository, sha), [])
            now = timestamp_now()
            runs.append(
                {
                    "id": next(self._check_run_ids),
                    "head_sha": sha,
                    "name": name,
                    "status": status,
                    "conclusion": conclusion,
                    "started_at": now,
                    "completed_at": now if status == "completed" else None,
                    "html_url": f"{self.url}/{repository}/runs/{len(runs) + 1}",
                    "output": {"title": None, "summary": None},
                }
            )

    def _pull(self, repository: str, number: int) -> dict[str, Any]:
        return next(pull for pull in self._pulls[repository] if pull["number"] == number)

    def _routes(self) -> list[Route]:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        return [
            self._route("POST", f"{repo}/pulls", self._create),
            self._route("GET", f"{repo}/pulls", self._list),
            self._route("GET", rf"{repo}/pulls/(?P<number>\d+)", self._get),
            self._route("POST", f"{repo}/statuses/(?P<sha>[^/]+)", self._create_status),
            self._route("GET", f"{repo}/commits/(?P<ref>[^/]+)/status", self._combined_status),
            self._route("GET", f"{repo}/commits/(?P<ref>[^/]+)/check-runs", self._list_check_runs),
        ]

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
        return scheme.lower() in ("bearer", "token") and credentials == self._token

    def _unauthorized(self) -> Answer:
        return Answer(
            401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        )

    def _not_found(self, path: str) -> Answer:
        return Answer(404, {"message": "Not Found", "documentation_url": _GITHUB_DOCS, "status": "404"})

    def _create(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
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
        return Answer(201, pull)

    def _get(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        full_name = f"{captured['owner']}/{captured['repo']}"
        number = int(captured["number"])
        pulls = [pull for pull in self._pulls.get(full_name, []) if pull["number"] == number]
        return Answer(200, pulls[0]) if pulls else self._not_found(request.path)

    def _list(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
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
        return Answer(200, selected)

    def _create_status(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        full_name, sha = f"{captured['owner']}/{captured['repo']}", captured["sha"]
        if full_name not in self._pulls:
            return self._not_found(request.path)
        if not is_full_sha(sha):
            return Answer(
                422, {"message": f"No commit found for SHA: {sha}", "documentation_url": _STATUSES_DOCS}
            )
        body = request.body if isinstance(request.body, dict) else {}
        problems = []
        if body.get("state") not in _STATUS_STATES:
            problems.append(("state", "state is not included in the list"))
        if len(body.get("description") or "") > _STATUS_DESCRIPTION_LIMIT:
            problems.append(("description", "description is too long (maximum is 140 characters)"))
        if problems:
            return _github_invalid(
                [
                    {"resource": "Status", "code": "custom", "field": field, "message": message}
                    for field, message in problems
                ]
            )
        status = {name: body.get(name) for name in ("state", "description", "target_url")}
        return Answer(
            201, self._add_status(full_name, sha, status | {"context": body.get("context") or "default"})
        )

    def _add_status(self, repository: str, sha: str, fields: dict[str, Any]) -> dict[str, Any]:
        status_id, now = secrets.randbelow(10**10), timestamp_now()
        status = {
            "url": f"{self.api_url}/repos/{repository}/statuses/{sha}",
            "avatar_url": None,
            "id": status_id,
            "node_id": f"SC_{status_id}",
            "target_url": None,
            **fields,
            "created_at": now,
            "updated_at": now,
            "creator": {"login": "promotions-fake", "type": "User"},
        }
        self._statuses.setdefault((repository, sha), []).append(status)
        return status

    def _combined_status(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        full_name, ref = f"{captured['owner']}/{captured['repo']}", captured["ref"]
        if full_name not in self._pulls or not is_full_sha(ref):
            return self._not_found(request.path)
        latest: dict[str, dict[str, Any]] = {}
        for status in self._statuses.get((full_name, ref), []):
            latest[status["context"]] = status
        states = {status["state"] for status in latest.values()}
        if states & {"error", "failure"}:
            combined = "failure"
        elif not states or "pending" in states:
            combined = "pending"
        else:
            combined = "success"
        page = self._page(request, list(latest.values()), size_param="per_page", default_size=30)
        body = {
            "state": combined,
            "statuses": page.items,
            "sha": ref,
            "total_count": len(latest),
            "repository": {"full_name": full_name, "html_url": f"{self.url}/{full_name}"},
            "commit_url": f"{self.api_url}/repos/{full_name}/commits/{ref}",
            "url": f"{self.api_url}/repos/{full_name}/commits/{ref}/status",
        }
        return Answer(200, body, link_header(page))

    def _list_check_runs(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        full_name, ref = f"{captured['owner']}/{captured['repo']}", captured["ref"]
        if full_name not in self._pulls or not is_full_sha(ref):
            return self._not_found(request.path)
        runs = self._check_runs.get((full_name, ref), [])
        if (request.param("filter") or "latest") == "latest":
            latest: dict[str, dict[str, Any]] = {}
            for run in runs:
                latest[run["name"]] = run
            runs = list(latest.values())
        page = self._page(request, runs, size_param="per_page", default_size=30)
        return Answer(200, {"total_count": len(runs), "check_runs": page.items}, link_header(page))

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
        head_sha, now = random_sha(), timestamp_now()
        pull["head"].update(ref=head_branch, label=f"{owner}:{head_branch}", sha=head_sha, repo=repository)
        pull["base"].update(ref=body["base"], label=f"{owner}:{body['base']}", sha=random_sha())
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
            merge_commit_sha=random_sha(),
            mergeable_state="clean",
            statuses_url=f"{api}/statuses/{head_sha}",
        )
        return pull


def _github_invalid(errors: list[dict[str, str]]) -> Answer:
    body = {
        "message": "Validation Failed",
        "errors": errors,
        "documentation_url": _GITHUB_DOCS,
        "status": "422",
    }
    return Answer(422, body)
