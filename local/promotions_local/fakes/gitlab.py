"""A fake GitLab: the merge request endpoints of the REST API v4."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from .server import Answer, FakeApi, RecordedRequest, Route, bearer_token, random_sha, timestamp_now


class FakeGitLab(FakeApi):
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

    def _merge_request(self, project: str, iid: int) -> dict[str, Any]:
        return next(mr for mr in self._merge_requests[project] if mr["iid"] == iid)

    def _routes(self) -> list[Route]:
        project = r"/projects/(?P<project>[^/]+)"
        return [
            self._route("POST", f"{project}/merge_requests", self._create),
            self._route("GET", f"{project}/merge_requests", self._list),
            self._route("GET", rf"{project}/merge_requests/(?P<iid>\d+)", self._get),
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
