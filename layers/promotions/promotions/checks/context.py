"""What a check knows of the promotion it gates, and the variables it hands to whatever it calls.

Variable names are Codefresh's (Promotion Workflow and promotion hook arguments), so a workflow ported from
Codefresh finds the same inputs under the same names.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class ApplicationRef(_Model):
    """The Argo CD Application a pre- or post-action runs for (Codefresh runs those once per application)."""

    name: str
    namespace: str = ""
    repo_url: str
    # The Application's targetRevision as written, HEAD included (Codefresh passes it unresolved).
    branch: str
    path: str = ""


class CommitRef(_Model):
    sha: str
    author: str = ""
    message: str = ""
    date: datetime | None = None


class CheckContext(_Model):
    """One evaluation's view of the release.

    `commit` is the promotion commit for post-actions (for a pull-request promotion, none until its pull
    request is merged, then the merge commit) and the commit that triggered the release for hooks;
    pre-actions have none. `source_commit` and `source_repo_url` always name the pushed commit the release
    promotes, for checks that read its CI results.
    """

    release_id: str
    product: str
    version: str
    flow: str
    # None for release-level hooks, which belong to no environment.
    environment: str | None = None
    release_url: str | None = None
    app: ApplicationRef | None = None
    commit: CommitRef | None = None
    source_commit: str | None = None
    source_repo_url: str | None = None
    # For onFail hooks: why the release or environment failed, and which environments failed.
    error_message: str | None = None
    failed_environments: tuple[str, ...] = ()
    promotion_context: dict[str, Any] = Field(default_factory=dict)
    # When each environment of this release became Successful.
    environment_success_times: dict[str, AwareDatetime] = Field(default_factory=dict)

    def with_promotion_context(self, update: dict[str, Any]) -> CheckContext:
        """A later export of the same key wins, as in Codefresh."""
        if not update:
            return self
        return self.model_copy(update={"promotion_context": {**self.promotion_context, **update}})

    def variables(self) -> dict[str, str]:
        """Codefresh's argument names, "" where a value does not apply (as Codefresh's own workflow examples
        default them). Each promotion-context key is a variable too, as Codefresh passes context values as
        same-named inputs, but never in place of a built-in one."""
        app = self.app
        commit = self.commit
        built_in = {
            "RELEASE_ID": self.release_id,
            "RELEASE_URL": self.release_url or "",
            "PRODUCT_NAME": self.product,
            "VERSION": self.version,
            "PROMOTION_FLOW_NAME": self.flow,
            "ENVIRONMENT": self.environment or "",
            "APP_NAME": app.name if app else "",
            "APP_NAMESPACE": app.namespace if app else "",
            "REPO_URL": app.repo_url if app else "",
            "BRANCH": app.branch if app else "",
            "PATH": app.path if app else "",
            "COMMIT_SHA": commit.sha if commit else "",
            "COMMIT_AUTHOR": commit.author if commit else "",
            "COMMIT_MESSAGE": commit.message if commit else "",
            "COMMIT_DATE": commit.date.isoformat() if commit and commit.date else "",
            "ERROR_MESSAGE": self.error_message or "",
            "FAILED_ENVIRONMENTS": json.dumps(list(self.failed_environments)),
            "PROMOTION_CONTEXT": json.dumps(self.promotion_context, sort_keys=True),
        }
        from_context = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in self.promotion_context.items()
        }
        return {**from_context, **built_in}
