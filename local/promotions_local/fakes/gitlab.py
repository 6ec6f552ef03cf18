"""A fake GitLab: the merge request and commit status endpoints of the REST API v4."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from .server import (
    Answer,
    FakeApi,
    RecordedRequest,
    Route,
    bearer_token,
    is_full_sha,
    link_header,
    random_sha,
    timestamp_now,
)

_STATUS_STATES = ("pending", "running", "success", "failed", "canceled", "skipped")
# The state machine event that moves a status into these unfinished states; moving into the state it is already
# in is refused, naming the event.
_UNFINISHED_EVENTS = {"pending": "enqueue", "running": "run"}


class FakeGitLab(FakeApi):
    """The merge request endpoints of GitLab's REST API v4 (create, get, list) and commit statuses (set, list
    a commit's) under /api/v4, projects addressed by URL-encoded full path or numeric id. Tokens go as
    `PRIVATE-TOKEN` or `Authorization: Bearer`. `merge` and `close` act as reviewer, `report_status` as a
    pipeline job. Setting a status whose latest of that name is unfinished (pending, running) moves it to the
    new state, and refuses, as GitLab does, to move it to the state it is in; after a finished one it starts
    a new status.
    """

    def __init__(self, *, token: str, projects: Iterable[str], path_prefix: str = "/api/v4") -> None:
        super().__init__(token, path_prefix)
        self._project_ids = {path: index for index, path in enumerate(projects, start=1)}
        self._merge_requests: dict[str, list[dict[str, Any]]] = {path: [] for path in self._project_ids}
        # (project, sha) -> every status, oldest first
        self._statuses: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._status_ids = itertools.count(1)

    def merge(
        self, project: str, iid: int, method: Literal["merge", "squash", "fast_forward"] = "merge"
    ) -> str:
        """Merge as a reviewer would, by the given merge method; returns the commit the target branch got."""
        with self._lock:
            merge_request = self._merge_request(project, iid)
            merge_commit = random_sha() if method == "merge" else None
            squash_commit = random_sha() if method == "squash" else None
            now = timestamp_now()
            merge_request.update(state="merged", merged_at=now, updated_at=now, squash=method == "squash")
            merge_request.update(merge_commit_sha=merge_commit, squash_commit_sha=squash_commit)
            return merge_commit or squash_commit or merge_request["sha"]

    def close(self, project: str, iid: int) -> None:
        with self._lock:
            now = timestamp_now()
            self._merge_request(project, iid).update(state="closed", closed_at=now, updated_at=now)

    def report_status(
        self,
        project: str,
        sha: str,
        name: str,
        status: str,
        description: str | None = None,
        allow_failure: bool = False,
    ) -> None:
        """A status as a pipeline job reports it: a new one of `name`, the latest."""
        with self._lock:
            self._new_status(project, sha, name, status, description, None, allow_failure)

    def _merge_request(self, project: str, iid: int) -> dict[str, Any]:
        return next(mr for mr in self._merge_requests[project] if mr["iid"] == iid)

    def _routes(self) -> list[Route]:
        project = r"/projects/(?P<project>[^/]+)"
        return [
            self._route("POST", f"{project}/merge_requests", self._create),
            self._route("GET", f"{project}/merge_requests", self._list),
            self._route("GET", rf"{project}/merge_requests/(?P<iid>\d+)", self._get),
            self._route("POST", f"{project}/statuses/(?P<sha>[^/]+)", self._set_status),
            self._route("GET", f"{project}/repository/commits/(?P<sha>[^/]+)/statuses", self._list_statuses),
        ]

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        return self._token in (headers.get("private-token"), bearer_token(headers))

    def _unauthorized(self) -> Answer:
        return Answer(401, {"message": "401 Unauthorized"})

    def _not_found(self, path: str) -> Answer:
        return Answer(404, {"message": "404 Not found"})

    def _project(self, reference: str) -> str | None:
        if reference.isdigit():
            return next((path for path, id_ in self._project_ids.items() if id_ == int(reference)), None)
        return reference if reference in self._project_ids else None

    def _create(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        project = self._project(captured["project"])
        if project is None:
            return Answer(404, {"message": "404 Project Not Found"})
        body = request.body if isinstance(request.body, dict) else {}
        missing = [field for field in ("source_branch", "target_branch", "title") if not body.get(field)]
        if missing:
            return Answer(400, {"error": ", ".join(f"{field} is missing" for field in missing)})
        branches = (body["source_branch"], body["target_branch"])
        for existing in self._merge_requests[project]:
            if (
                existing["state"] == "opened"
                and (existing["source_branch"], existing["target_branch"]) == branches
            ):
                message = (
                    f"Another open merge request already exists for this source branch: !{existing['iid']}"
                )
                return Answer(409, {"message": [message]})
        merge_request = self._new_merge_request(project, len(self._merge_requests[project]) + 1, body)
        self._merge_requests[project].append(merge_request)
        return Answer(201, merge_request)

    def _get(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        project = self._project(captured["project"])
        if project is None:
            return Answer(404, {"message": "404 Project Not Found"})
        iid = int(captured["iid"])
        found = [mr for mr in self._merge_requests[project] if mr["iid"] == iid]
        return Answer(200, found[0]) if found else self._not_found(request.path)

    def _list(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        project = self._project(captured["project"])
        if project is None:
            return Answer(404, {"message": "404 Project Not Found"})
        filters = {name: request.param(name) for name in ("state", "source_branch", "target_branch")}
        selected = [
            mr
            for mr in self._merge_requests[project]
            if all(value in (None, "all", mr[name]) for name, value in filters.items())
        ]
        return Answer(200, selected)

    def _set_status(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        project = self._project(captured["project"])
        if project is None:
            return Answer(404, {"message": "404 Project Not Found"})
        if not is_full_sha(captured["sha"]):
            return Answer(404, {"message": "404 Commit Not Found"})
        body = request.body if isinstance(request.body, dict) else {}
        state = body.get("state")
        if state not in _STATUS_STATES:
            return Answer(400, {"error": "state does not have a valid value"})
        name = body.get("name") or body.get("context") or "default"
        statuses = self._statuses.get((project, captured["sha"]), [])
        latest = next((status for status in reversed(statuses) if status["name"] == name), None)
        if latest is None or latest["status"] not in _UNFINISHED_EVENTS:
            status = self._new_status(
                project, captured["sha"], name, state, body.get("description"), body.get("target_url"), False
            )
            return Answer(201, status)
        if latest["status"] == state:
            event = _UNFINISHED_EVENTS[state]
            return Answer(
                400,
                {
                    "message": f"Cannot transition status via :{event} from :{state} "
                    f'(Reason(s): Status cannot transition via "{event}")'
                },
            )
        now = timestamp_now()
        latest.update(status=state, description=body.get("description"), target_url=body.get("target_url"))
        latest.update(finished_at=None if state in _UNFINISHED_EVENTS else now)
        return Answer(201, latest)

    def _new_status(
        self,
        project: str,
        sha: str,
        name: str,
        state: str,
        description: str | None,
        target_url: str | None,
        allow_failure: bool,
    ) -> dict[str, Any]:
        now = timestamp_now()
        status = {
            "id": next(self._status_ids),
            "sha": sha,
            "ref": None,
            "status": state,
            "name": name,
            "target_url": target_url,
            "description": description,
            "created_at": now,
            "started_at": now,
            "finished_at": None if state in _UNFINISHED_EVENTS else now,
            "allow_failure": allow_failure,
            "coverage": None,
            "author": {"id": 1, "username": "promotions-fake", "name": "Promotions fake", "state": "active"},
        }
        self._statuses.setdefault((project, sha), []).append(status)
        return status

    def _list_statuses(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        project = self._project(captured["project"])
        if project is None:
            return Answer(404, {"message": "404 Project Not Found"})
        if not is_full_sha(captured["sha"]):
            return Answer(404, {"message": "404 Commit Not Found"})
        statuses = self._statuses.get((project, captured["sha"]), [])
        if request.param("all") != "true":
            latest: dict[str, dict[str, Any]] = {}
            for status in statuses:
                latest[status["name"]] = status
            statuses = list(latest.values())
        page = self._page(request, statuses, size_param="per_page", default_size=20)
        return Answer(200, page.items, link_header(page))

    def _new_merge_request(self, project: str, iid: int, body: dict[str, Any]) -> dict[str, Any]:
        project_id, now = self._project_ids[project], timestamp_now()
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
            "sha": random_sha(),
            "merge_commit_sha": None,
            "squash_commit_sha": None,
            "squash": False,
            "should_remove_source_branch": None,
            "force_remove_source_branch": False,
            "references": {"short": f"!{iid}", "relative": f"!{iid}", "full": f"{project}!{iid}"},
            "web_url": f"{self.url}/{project}/-/merge_requests/{iid}",
        }
